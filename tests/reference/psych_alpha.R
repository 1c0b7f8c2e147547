# Reference values for tests/test_reliability.py: Cronbach's alpha and item statistics by
# psych::alpha on two data sets shipped with the R package psych.
#   lsat6: Bock & Lieberman's (1970) LSAT section 6, 1000 examinees x 5 binary items, stored in
#          psych as a pattern x frequency table (bock.table / lsat6).
#   bfi:   the SAPA Big-Five inventory; items A2-A5 (agreeableness, positively keyed), complete
#          cases only (psych::bfi, n = 2800 before removing missing answers).
# Run: Rscript tests/reference/psych_alpha.R  (from the repository root)
# Writes the data as CSV (so the tests need no R) and psych's results as CSV.
suppressPackageStartupMessages(library(psych))
out <- "tests/reference"
data(bock, package = "psych")
lsat <- as.data.frame(lsat6)
write.csv(lsat, file.path(out, "lsat6.csv"), row.names = FALSE)
bfiA <- na.omit(psych::bfi[, c("A2", "A3", "A4", "A5")])
write.csv(bfiA, file.path(out, "bfi_a2_a5.csv"), row.names = FALSE)

one <- function(name, x) {
  a <- psych::alpha(x, check.keys = FALSE, warnings = FALSE)
  tot <- a$total
  cat(sprintf("%s: n=%d raw_alpha=%.10f sd=%.10f mean=%.10f\n", name, nrow(x),
              tot$raw_alpha, tot$sd, tot$mean))
  items <- data.frame(dataset = name, item = rownames(a$item.stats),
                      n = a$item.stats$n, raw_r = a$item.stats$raw.r,
                      r_drop = a$item.stats$r.drop, mean = a$item.stats$mean,
                      sd = a$item.stats$sd, alpha_if_deleted = a$alpha.drop$raw_alpha)
  total <- data.frame(dataset = name, n = nrow(x), k = ncol(x), raw_alpha = tot$raw_alpha,
                      # psych reports the mean and sd of the item MEAN score (a scale score)
                      # by default (cumulative = FALSE); the sum score's are k times larger.
                      scale_mean = tot$mean, scale_sd = tot$sd,
                      feldt_lower = as.numeric(unlist(a$feldt$lower.ci)),
                      feldt_upper = as.numeric(unlist(a$feldt$upper.ci)))
  list(items = items, total = total)
}
r1 <- one("lsat6", lsat)
r2 <- one("bfi_a2_a5", bfiA)
write.csv(rbind(r1$items, r2$items), file.path(out, "psych_alpha_items.csv"), row.names = FALSE)
write.csv(rbind(r1$total, r2$total), file.path(out, "psych_alpha_total.csv"), row.names = FALSE)
cat("psych", as.character(packageVersion("psych")), R.version.string, "\n")
