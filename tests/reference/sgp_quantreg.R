# Reference values for tests/test_growth.py: splines::bs basis and quantreg::rq fits of the
# SGP recipe on a small seeded data set (sgp_data.csv, written by this script from R's RNG).
# Run: Rscript sgp_quantreg.R   (R 4.2, quantreg, splines)
suppressMessages(library(quantreg)); library(splines)
set.seed(20240502)
n <- 300
x <- round(rnorm(n, 100, 15), 2)                   # continuous: unique solutions
y <- round(0.7 * x + rnorm(n, 30, 10) + 0.002 * (x - 100)^2, 2)
xi <- round(x); yi <- round(y)                       # integer scores: ties, weights
write.csv(data.frame(x = x, y = y, xi = xi, yi = yi), "sgp_data.csv", row.names = FALSE)
knots <- quantile(x, c(0.2, 0.4, 0.6, 0.8))         # type 7
bnd <- extendrange(x, f = 0.1)
B <- bs(x, knots = knots, Boundary.knots = bnd)
write.csv(data.frame(B), "sgp_bs_basis.csv", row.names = FALSE)
taus <- c(0.005, 0.105, 0.255, 0.495, 0.505, 0.755, 0.895, 0.995)
fit <- rq(y ~ bs(x, knots = knots, Boundary.knots = bnd), tau = taus, method = "br")
cf <- coef(fit)
obj <- sapply(seq_along(taus), function(j) sum(fit$residuals[, j] * (taus[j] - (fit$residuals[, j] < 0))))
write.csv(data.frame(tau = rep(taus, each = nrow(cf)), term = rep(seq_len(nrow(cf)), length(taus)),
                     coef = as.vector(cf)), "sgp_rq_coef.csv", row.names = FALSE)
# integer scores, weighted by the count of each distinct (xi, yi) pair
d <- aggregate(list(w = rep(1, n)), list(xi = xi, yi = yi), sum)
ki <- quantile(xi, c(0.2, 0.4, 0.6, 0.8)); bi <- extendrange(xi, f = 0.1)
fw <- rq(yi ~ bs(xi, knots = ki, Boundary.knots = bi), tau = taus, weights = w, data = d,
         method = "br")
objw <- sapply(seq_along(taus), function(j) sum(d$w * fw$residuals[, j] *
                                             (taus[j] - (fw$residuals[, j] < 0))))
write.csv(data.frame(tau = taus, objective = obj, objective_weighted = objw),
          "sgp_rq_objective.csv", row.names = FALSE)
cat("quantreg", as.character(packageVersion("quantreg")), R.version.string, "\n")
