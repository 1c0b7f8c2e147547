# Reference values for tests/test_value_added.py from lme4 (REML).
# Data: va_data.csv written by va_make_data.py (seeded). Run: Rscript va_lme4.R
# Output: va_lme4_fixed.csv (fixed effects), va_lme4_varcomp.csv (variance components,
# REML deviance), va_lme4_school.csv / va_lme4_class.csv (conditional modes and condVar SDs).
suppressMessages(library(lme4))
d <- read.csv("va_data.csv")
d$school <- factor(d$school); d$class <- factor(d$class)
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5))
out_fixed <- list(); out_vc <- list(); out_sch <- list(); out_cls <- list()
models <- list(
  school = y ~ x + (1 | school),
  school_cov = y ~ x + female + ses + (1 | school),
  nested = y ~ x + (1 | school) + (1 | school:class)
)
for (nm in names(models)) {
  m <- lmer(models[[nm]], data = d, REML = TRUE, control = ctrl)
  fe <- fixef(m)
  out_fixed[[nm]] <- data.frame(model = nm, term = names(fe), estimate = unname(fe),
                                se = unname(sqrt(diag(as.matrix(vcov(m))))))
  vc <- as.data.frame(VarCorr(m))
  out_vc[[nm]] <- data.frame(model = nm, component = vc$grp, variance = vc$vcov,
                             reml_deviance = REMLcrit(m))
  re <- ranef(m, condVar = TRUE)
  s <- re$school
  out_sch[[nm]] <- data.frame(model = nm, school = rownames(s), effect = s[, 1],
                              cond_sd = sqrt(attr(s, "postVar")[1, 1, ]))
  if (nm == "nested") {
    cl <- re$`school:class`
    out_cls[[nm]] <- data.frame(model = nm, school_class = rownames(cl), effect = cl[, 1],
                                cond_sd = sqrt(attr(cl, "postVar")[1, 1, ]))
  }
}
w <- function(x, f) write.csv(do.call(rbind, x), f, row.names = FALSE)
w(out_fixed, "va_lme4_fixed.csv"); w(out_vc, "va_lme4_varcomp.csv")
w(out_sch, "va_lme4_school.csv"); w(out_cls, "va_lme4_class.csv")
cat("lme4", as.character(packageVersion("lme4")), R.version.string, "\n")
