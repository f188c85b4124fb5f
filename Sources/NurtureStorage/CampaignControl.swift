public import Foundation
public import NurtureDSL

/// A campaign held by hand or by the deliverability watch: nothing more is sent from it and its
/// leads keep their place (their step, their wait) until it is resumed.
///
/// While paused, the campaign's due times are stored moved by ``parkingOffset`` (tens of
/// thousands of years), so the due-work and outbox indexes, which walk due times in order, never
/// see them and a paused backlog costs a claim nothing; a resume moves them back exactly.
public struct CampaignPause: Sendable, Hashable, Codable {
    public var campaignID: String
    public var at: Date
    /// Why, in words a marketer reads on the dashboard: the rate and its figures for an automatic pause.
    public var reason: String
    /// "auto" for the deliverability watch, otherwise where it was paused by hand ("cli", "api", "dashboard").
    public var by: String
    /// When the notice went to the alert channel; nil until it was delivered.
    public var noticeSentAt: Date?

    public init(campaignID: String, at: Date, reason: String, by: String, noticeSentAt: Date? = nil) {
        self.campaignID = campaignID
        self.at = at
        self.reason = reason
        self.by = by
        self.noticeSentAt = noticeSentAt
    }

    public static let parkingOffset: Double = 1e12

    /// A due time as stored while its campaign is paused.
    public static func parked(_ due: Date) -> Date {
        isParked(due) ? due : Date(timeIntervalSince1970: due.timeIntervalSince1970 + parkingOffset)
    }

    public static func isParked(_ due: Date) -> Bool { due.timeIntervalSince1970 >= parkingOffset }

    /// The due time a parked one stands for.
    public static func unparked(_ due: Date) -> Date {
        isParked(due) ? Date(timeIntervalSince1970: due.timeIntervalSince1970 - parkingOffset) : due
    }
}

/// The variant an A/B split settled on: from then on, leads reaching the step get only it
/// (leads who already got a variant keep theirs).
public struct ExperimentDecision: Sendable, Hashable, Codable {
    public var campaignID: String
    public var stepID: String
    public var variant: String
    public var at: Date
    /// "auto" when the split's winner rule decided it, otherwise who called it by hand.
    public var by: String
    /// The figures it was decided on (each arm's sends, conversions, rate; the comparison).
    public var figures: [String: Value]

    public init(campaignID: String, stepID: String, variant: String, at: Date, by: String, figures: [String: Value] = [:]) {
        self.campaignID = campaignID
        self.stepID = stepID
        self.variant = variant
        self.at = at
        self.by = by
        self.figures = figures
    }
}

/// Something that happened to a campaign rather than to a lead (paused, resumed, a split
/// decided): the campaign's journal, which `stats`, `campaigns show` and the dashboard list.
public struct CampaignJournalEntry: Sendable, Hashable, Codable {
    public var campaignID: String
    /// `campaign.paused`, `campaign.resumed`, `experiment.decided`.
    public var type: String
    public var at: Date
    public var properties: [String: Value]

    public init(campaignID: String, type: String, at: Date, properties: [String: Value] = [:]) {
        self.campaignID = campaignID
        self.type = type
        self.at = at
        self.properties = properties
    }
}

/// The campaign-wide decisions every unit of work obeys: which campaigns are paused, which
/// splits are decided. Small (one row per paused campaign or decided split), read once per batch.
public struct CampaignControls: Sendable, Hashable {
    public var pauses: [String: CampaignPause]
    /// By campaign, then step.
    public var decisions: [String: [String: ExperimentDecision]]
    /// The last resume of each campaign, with what its counters held then (the watch counts
    /// from there, so a campaign resumed by hand is not paused again on the facts that paused it).
    public var resumes: [String: CampaignJournalEntry]

    public init(pauses: [String: CampaignPause] = [:], decisions: [String: [String: ExperimentDecision]] = [:], resumes: [String: CampaignJournalEntry] = [:]) {
        self.pauses = pauses
        self.decisions = decisions
        self.resumes = resumes
    }

    public static let none = CampaignControls()

    public func isPaused(_ campaignID: String) -> Bool { pauses[campaignID] != nil }
}

/// Where the campaign-wide decisions are kept.
public protocol CampaignControlStore: Sendable {
    func campaignControls() async throws -> CampaignControls

    /// Pauses a campaign unless it already is (then false): in one transaction, records the pause
    /// and its journal entry, parks the due times of its active enrollments and queued messages,
    /// and moves the version of every lead whose enrollment it parked, so work read before the
    /// pause is done again under it.
    func pauseCampaign(_ pause: CampaignPause) async throws -> Bool

    /// Resumes a paused campaign (false when it was not paused): unparks what the pause parked,
    /// moves those leads' versions (work read while paused would park them again), and journals
    /// `entry` (type `campaign.resumed`).
    func resumeCampaign(_ entry: CampaignJournalEntry) async throws -> Bool

    /// Unparks what is parked under a campaign that is not paused (work that read "paused" just
    /// before a resume and committed after it: a lead it enrolled had nothing for the resume to
    /// find). Returns how many rows it moved back; the watch runs it at every look.
    func unparkUnpaused() async throws -> Int

    /// Records that the pause's notice reached the alert channel.
    func markPauseNoticeSent(campaignID: String, at: Date) async throws

    /// Stores a split's decision and journals `experiment.decided`, unless the step was decided
    /// before (then false: the first decision stands).
    func decideExperiment(_ decision: ExperimentDecision) async throws -> Bool

    /// The journal, newest first, of one campaign or all.
    func campaignJournal(campaignID: String?, limit: Int) async throws -> [CampaignJournalEntry]
}

extension ExperimentDecision {
    /// Its journal entry.
    public var journalEntry: CampaignJournalEntry {
        var properties = figures
        properties["step"] = .string(stepID)
        properties["variant"] = .string(variant)
        properties["by"] = .string(by)
        return CampaignJournalEntry(campaignID: campaignID, type: "experiment.decided", at: at, properties: properties)
    }
}

extension CampaignPause {
    public var journalEntry: CampaignJournalEntry {
        CampaignJournalEntry(campaignID: campaignID, type: "campaign.paused", at: at, properties: ["reason": .string(reason), "by": .string(by)])
    }
}
