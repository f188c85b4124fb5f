import Foundation
import Campaigns
import NurtureDSL
@testable import NurtureEngine
import NurtureStorage
import NurtureTesting
import Testing

struct ExperimentStatisticsTests {
    /// Newcombe, "Interval estimation for the difference between independent proportions:
    /// comparison of eleven methods", Statistics in Medicine 17 (1998), Table II, example (a):
    /// 56/70 against 48/80, method 1 (Wald): 0.0575 to 0.3425.
    @Test func theWaldIntervalMatchesNewcombesWorkedExample() throws {
        let interval = try #require(ExperimentStatistics.waldInterval(baseline: (48, 80), variant: (56, 70)))
        #expect(abs(interval.low - 0.0575) < 0.00005)
        #expect(abs(interval.high - 0.3425) < 0.00005)
    }

    /// Kohavi, Tang and Xu, "Trustworthy Online Controlled Experiments" (2020), chapter 3: a
    /// 50/50 split that assigned 821,588 and 815,482 users has a sample ratio mismatch with
    /// p = 1.8e-6.
    @Test func theSampleRatioCheckMatchesKohavisWorkedExample() throws {
        let p = try #require(ExperimentStatistics.sampleRatioPValue(counts: [821_588, 815_482], weights: [50, 50]))
        #expect(p > 1.7e-6 && p < 1.9e-6, "\(p)")
        #expect(try #require(ExperimentStatistics.sampleRatioPValue(counts: [5_012, 4_988], weights: [50, 50])) > 0.5)
        // Uneven weights are what the counts are held to: 70/30 assigned as 70/30 is no mismatch.
        #expect(try #require(ExperimentStatistics.sampleRatioPValue(counts: [7_000, 3_000], weights: [70, 30])) > 0.99)
    }

    /// The chi-square tail at the 5% critical values of the standard tables.
    @Test func theChiSquareTailMatchesTheTables() {
        for (x, k) in [(3.841_459, 1), (5.991_465, 2), (7.814_728, 3), (11.070_498, 5), (18.307_038, 10)] {
            #expect(abs(ExperimentStatistics.chiSquareSurvival(x, degreesOfFreedom: k) - 0.05) < 1e-6, "df \(k)")
        }
        #expect(abs(ExperimentStatistics.chiSquareSurvival(0.454_936, degreesOfFreedom: 1) - 0.5) < 1e-6)
    }

    /// The reason for a sequential test: 2,000 A/A tests (no true difference, 10% click rate),
    /// each looked at every day for 30 days with 60 new leads per arm a day. Declaring a winner
    /// the first day the naive z-test says p < 0.05 finds a "winner" in far more than 5% of them;
    /// the mSPRT stays at or below 5%.
    @Test func lookingEveryDayKeepsTheFalsePositiveRateAtOrBelowAlpha() {
        var random = SeededRandom(seed: 77)
        func clicks(_ leads: Int) -> Int { (0..<leads).count { _ in random.next() % 1_000 < 100 } }
        var naiveWinners = 0, sequentialWinners = 0
        let experiments = 2_000
        for _ in 0..<experiments {
            var a = (successes: 0, trials: 0), b = (successes: 0, trials: 0)
            var naiveCalled = false, sequentialCalled = false
            for _ in 0..<30 {
                a.successes += clicks(60); a.trials += 60
                b.successes += clicks(60); b.trials += 60
                if let p = ExperimentStatistics.naivePValue(baseline: a, variant: b), p < 0.05 { naiveCalled = true }
                if let comparison = ExperimentStatistics.compare(baseline: a, variant: b), comparison.pValue < 0.05 { sequentialCalled = true }
            }
            if naiveCalled { naiveWinners += 1 }
            if sequentialCalled { sequentialWinners += 1 }
        }
        let naiveRate = Double(naiveWinners) / Double(experiments), sequentialRate = Double(sequentialWinners) / Double(experiments)
        print("A/A tests called with daily looks: naive z-test \(naiveRate), mSPRT \(sequentialRate)")
        #expect(naiveRate > 0.15, "peeking at a fixed-horizon test inflates false winners")
        #expect(sequentialRate <= 0.05)
    }

    /// And it still finds a real difference: 10% against 15% clicks, 2,000 leads an arm.
    @Test func aRealDifferenceIsFoundWithAnIntervalAroundIt() throws {
        let comparison = try #require(ExperimentStatistics.compare(baseline: (200, 2_000), variant: (300, 2_000)))
        #expect(comparison.pValue < 0.01)
        #expect(abs(comparison.difference - 0.05) < 1e-12)
        #expect(comparison.low > 0 && comparison.low < 0.05 && comparison.high > 0.05)
        // Wider than the one-look interval: the price of looking whenever one likes.
        let wald = try #require(ExperimentStatistics.waldInterval(baseline: (200, 2_000), variant: (300, 2_000)))
        #expect(comparison.high - comparison.low > wald.high - wald.low)
        #expect(ExperimentStatistics.compare(baseline: (0, 0), variant: (3, 10)) == nil, "no verdict without data on both arms")
    }
}

/// The verdict `stats` gives the shipped welcome split, from counters alone.
struct ExperimentVerdictTests {
    func counters(_ arms: [(variant: String, sent: Int, clicked: Int)]) -> [CampaignCounter] {
        arms.flatMap { arm in
            [CampaignCounter(campaignID: "welcome", stepID: "welcome-3-value", variant: arm.variant, channel: "email", metric: "sent", day: "2026-11-20", count: arm.sent),
             CampaignCounter(campaignID: "welcome", stepID: "welcome-3-value", variant: arm.variant, channel: "email", metric: "clicked", day: "2026-11-21", count: arm.clicked)]
        }
    }

    @Test func aSplitWithARealDifferenceNamesTheArmAhead() throws {
        let stats = CampaignStats.build(Campaigns.playbook, counters: counters([("A", 2_000, 200), ("B", 2_000, 300)]), filter: CounterFilter(campaignID: "welcome"))
        let experiment = try #require(stats.first?.experiments.first)
        #expect(experiment.step == "welcome-3-value" && experiment.metric == "clicked")
        #expect(experiment.arms.map(\.rate) == [0.1, 0.15])
        let versus = try #require(experiment.versus.first)
        #expect(versus.variant == "B" && versus.baseline == "A" && versus.significant)
        #expect(!experiment.sampleRatioMismatch)
        // The step's own totals add its arms up, and the days hold them for charts.
        #expect(stats.first?.steps.first { $0.step == "welcome-3-value" && $0.variant == nil }?.clicked == 500)
        #expect(stats.first?.days.map { [$0.day, "\($0.sent)", "\($0.clicked)"] } == [["2026-11-20", "4000", "0"], ["2026-11-21", "0", "500"]])
    }

    @Test func aSplitJudgedOnConversionsCountsWhatEachArmWasCreditedWith() throws {
        let playbook = Playbook(brand: Campaigns.playbook.brand, attributes: {}) {
            Campaign("welcome", kind: .welcome) {
                Entry(on: "lead.created")
                Exit(on: "demo.booked")
                Email("welcome-3-value", variants: ["A": 50, "B": 50], metric: .converted)
            }
        }
        var counters = counters([("A", 2_000, 400), ("B", 2_000, 100)])
        counters += [("A", 40), ("B", 90)].map { variant, converted in
            CampaignCounter(campaignID: "welcome", stepID: "welcome-3-value", variant: variant, channel: "email", metric: "converted",
                            detail: "demo.booked", day: "2026-11-22", count: converted)
        }
        let experiment = try #require(CampaignStats.build(playbook, counters: counters, filter: CounterFilter()).first?.experiments.first)
        // Judged on conversions, B is ahead though A drew four times the clicks.
        #expect(experiment.metric == "converted")
        #expect(experiment.arms.map(\.conversions) == [40, 90])
        #expect(experiment.versus.first?.significant == true && (experiment.versus.first?.comparison.difference ?? 0) > 0)
    }

    @Test func armsOfTheWrongSizesAreFlaggedWhateverTheirRates() throws {
        let stats = CampaignStats.build(Campaigns.playbook, counters: counters([("A", 2_000, 200), ("B", 1_500, 150)]), filter: CounterFilter(campaignID: "welcome"))
        let experiment = try #require(stats.first?.experiments.first)
        #expect(experiment.sampleRatioMismatch, "a 50/50 split that sent 2,000 and 1,500")
        #expect(experiment.versus.first?.significant == false)
    }
}
