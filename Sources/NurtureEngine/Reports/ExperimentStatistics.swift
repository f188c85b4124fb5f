import Foundation

/// The statistics behind an A/B split's verdict. A marketer looks at a running test every day,
/// so a fixed-horizon test (one look, decided in advance) would call false winners far more
/// often than it says; Nurture uses the mixture sequential probability ratio test (mSPRT) of
/// Johari, Koomen, Pekelis and Walsh, "Peeking at A/B Tests: Why it matters, and what to do
/// about it" (KDD 2017; "Always Valid Inference", Operations Research 2022): its p-values and
/// intervals stay valid however often, and whenever, they are read.
public enum ExperimentStatistics {
    /// The mixing variance of the mSPRT's normal prior on the difference of two rates:
    /// τ = 0.03, the size of difference email tests look for. Any τ keeps the test valid; it only
    /// moves where the test is most powerful.
    public static let mixingVariance = 0.03 * 0.03

    public struct Comparison: Sendable, Hashable, Codable {
        /// Rate of the variant minus rate of the baseline.
        public var difference: Double
        /// A confidence interval for the difference that is valid under continuous monitoring.
        public var low: Double
        public var high: Double
        /// An always-valid p-value for "no difference".
        public var pValue: Double

        enum CodingKeys: String, CodingKey { case difference, low, high, pValue = "p_value" }
    }

    /// The variance of the difference of two observed rates (normal approximation), nil while
    /// either arm has no data or both rates sit at 0 or 1.
    static func variance(_ a: (successes: Int, trials: Int), _ b: (successes: Int, trials: Int)) -> Double? {
        guard a.trials > 0, b.trials > 0 else { return nil }
        let pa = Double(a.successes) / Double(a.trials), pb = Double(b.successes) / Double(b.trials)
        let v = pa * (1 - pa) / Double(a.trials) + pb * (1 - pb) / Double(b.trials)
        return v > 0 ? v : nil
    }

    /// The mSPRT comparison of `variant` against `baseline` at confidence `1 − alpha`.
    /// With V the variance of the observed difference θ̂ and τ² the mixing variance, the mixture
    /// likelihood ratio is Λ = √(V/(V+τ²)) · exp(τ²θ̂² / (2V(V+τ²))); the p-value is min(1, 1/Λ)
    /// and the interval θ̂ ± √(V(V+τ²)/τ² · (2 ln(1/α) + ln((V+τ²)/V))) (Johari et al., §4).
    public static func compare(baseline: (successes: Int, trials: Int), variant: (successes: Int, trials: Int), alpha: Double = 0.05,
                               tau2: Double = mixingVariance) -> Comparison? {
        guard let v = variance(baseline, variant) else { return nil }
        let difference = Double(variant.successes) / Double(variant.trials) - Double(baseline.successes) / Double(baseline.trials)
        let logLambda = 0.5 * log(v / (v + tau2)) + tau2 * difference * difference / (2 * v * (v + tau2))
        let half = (v * (v + tau2) / tau2 * (2 * log(1 / alpha) + log((v + tau2) / v))).squareRoot()
        return Comparison(difference: difference, low: difference - half, high: difference + half, pValue: min(1, exp(-logLambda)))
    }

    /// The fixed-horizon (Wald) interval for the same difference: right for one look decided in
    /// advance, and shown only to check the arithmetic against textbooks.
    public static func waldInterval(baseline: (successes: Int, trials: Int), variant: (successes: Int, trials: Int), z: Double = 1.959_963_984_540_054) -> (low: Double, high: Double)? {
        guard let v = variance(baseline, variant) else { return nil }
        let difference = Double(variant.successes) / Double(variant.trials) - Double(baseline.successes) / Double(baseline.trials)
        return (difference - z * v.squareRoot(), difference + z * v.squareRoot())
    }

    /// The two-sided fixed-horizon z-test's p-value for the same difference (pooled variance):
    /// what a naive daily look would use.
    static func naivePValue(baseline: (successes: Int, trials: Int), variant: (successes: Int, trials: Int)) -> Double? {
        guard baseline.trials > 0, variant.trials > 0 else { return nil }
        let pooled = Double(baseline.successes + variant.successes) / Double(baseline.trials + variant.trials)
        let v = pooled * (1 - pooled) * (1 / Double(baseline.trials) + 1 / Double(variant.trials))
        guard v > 0 else { return nil }
        let z = abs(Double(variant.successes) / Double(variant.trials) - Double(baseline.successes) / Double(baseline.trials)) / v.squareRoot()
        return erfc(z / 2.0.squareRoot())
    }

    /// Sample ratio mismatch: the p-value of Pearson's chi-square test that the arms' sizes came
    /// from the split's weights. A tiny one (under 0.001, as Kohavi, Tang and Xu advise) means
    /// the assignment or the counting is broken, and no verdict from the split can be trusted.
    public static func sampleRatioPValue(counts: [Int], weights: [Double]) -> Double? {
        let total = Double(counts.reduce(0, +)), weightSum = weights.reduce(0, +)
        guard counts.count == weights.count, counts.count >= 2, total > 0, weightSum > 0 else { return nil }
        var chiSquare = 0.0
        for (count, weight) in zip(counts, weights) {
            let expected = total * weight / weightSum
            guard expected > 0 else { return nil }
            chiSquare += (Double(count) - expected) * (Double(count) - expected) / expected
        }
        return chiSquareSurvival(chiSquare, degreesOfFreedom: counts.count - 1)
    }

    /// P(X ≥ x) for a chi-square variable: the regularized upper incomplete gamma Q(k/2, x/2),
    /// by its series below a + 1 and its continued fraction above (Numerical Recipes, §6.2).
    static func chiSquareSurvival(_ x: Double, degreesOfFreedom k: Int) -> Double {
        guard x > 0 else { return 1 }
        let a = Double(k) / 2, y = x / 2
        let logPrefix = a * log(y) - y - lgamma(a)
        if y < a + 1 {
            var sum = 1 / a, term = 1 / a, n = a
            for _ in 0..<500 {
                n += 1
                term *= y / n
                sum += term
                if abs(term) < abs(sum) * 1e-15 { break }
            }
            return max(0, 1 - sum * exp(logPrefix))
        }
        let tiny = 1e-300
        var b = y + 1 - a, c = 1 / tiny, d = 1 / b, h = d
        for i in 1...500 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return min(1, exp(logPrefix) * h)
    }
}
