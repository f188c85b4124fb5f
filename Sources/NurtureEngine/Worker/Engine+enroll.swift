public import Foundation
import Synchronization
public import NurtureDSL
public import NurtureStorage

/// `nurture leads enroll` and `POST /v1/campaigns/{id}/enrollments`: an existing list put into a
/// campaign, now or from a given time, under the same rules as any entry (re-entry, a campaign
/// running alone), and only for leads the campaign can reach (consent, suppressions).
extension Engine {
    public enum EnrollmentTarget: Sendable, Hashable {
        /// Every lead the filter keeps (`--segment`, `--all`).
        case segment(RankingFilter)
        /// These leads (`--file`, a list of emails or ids).
        case leads([LeadKey])
    }

    public struct EnrollmentReport: Sendable, Hashable, Codable {
        public var considered = 0
        public var enrolled = 0
        /// Already there, or there before and the campaign's re-entry rule says not again.
        public var notAgain = 0
        /// In a campaign that runs alone (a win-back) just now.
        public var inExclusive = 0
        /// Every channel the campaign sends on is suppressed for them.
        public var suppressed = 0
        /// No consent (or no address) on any channel the campaign sends on.
        public var withoutConsent = 0
        /// Emails or ids that name no lead.
        public var unknown = 0

        public init() {}

        public var summary: String {
            "\(enrolled) enrolled, \(notAgain) already there or not again (re-entry rule), \(inExclusive) in a campaign that runs alone, "
                + "\(suppressed) suppressed, \(withoutConsent) without consent" + (unknown > 0 ? ", \(unknown) unknown" : "")
        }
    }

    /// Enrolls the target's leads `batchSize` at a time; with `dryRun` nothing is written and the
    /// report says what would happen. `progress` hears the leads considered so far.
    public func enroll(
        campaignID: String, _ target: EnrollmentTarget, startingAt start: Date? = nil, dryRun: Bool, actor: String, now: Date,
        batchSize: Int = 500, progress: @Sendable (Int) -> Void = { _ in }
    ) async throws -> EnrollmentReport {
        guard let campaign = playbook.campaign(campaignID) else { throw UnknownCampaign(id: campaignID, known: playbook.campaigns.map(\.id)) }
        let now = Self.asStored(now)
        var report = EnrollmentReport()
        func batch(_ ids: [String]) async throws {
            let outcomes = EnrollmentTally()
            let processor = self.processor
            let body: @Sendable (inout LeadWork) -> Void = { work in
                outcomes.set(work.lead.id, Self.enroll(campaign, actor: actor, start: start, &work, processor: processor, now: now))
            }
            if dryRun {
                let snapshots = try await store.snapshots(ids.map(LeadKey.id), window: Self.window(at: now))
                let controls = try await store.campaignControls()
                for snapshot in snapshots.values {
                    var unit = UnitOfWork(snapshot, base: .version(snapshot.version), rotation: nil, controls: controls)
                    body(&unit.work)
                }
            } else {
                try await updateLeads(ids: ids, now: now, body)
            }
            outcomes.add(to: &report)
            report.considered += ids.count
            progress(report.considered)
        }
        switch target {
        case .segment(let filter):
            var after: String?
            while true {
                let ids = try await store.leadIDs(matching: filter, after: after, limit: batchSize)
                guard let last = ids.last else { break }
                after = last
                try await batch(ids)
            }
        case .leads(let keys):
            for start in stride(from: 0, to: keys.count, by: batchSize) {
                let slice = keys[start..<min(keys.count, start + batchSize)].map(\.normalised)
                let found = try await store.snapshots(Array(Set(slice)), window: Self.window(at: now))
                report.unknown += slice.count { found[$0] == nil }
                try await batch(Array(Set(found.values.map(\.lead.id))).sorted())
            }
        }
        return report
    }

    enum EnrollmentOutcome: Sendable {
        case enrolled, notAgain, inExclusive, suppressed, withoutConsent
    }

    static func enroll(_ campaign: Campaign, actor: String, start: Date?, _ work: inout LeadWork, processor: LeadProcessor, now: Date) -> EnrollmentOutcome {
        // Reachable on at least one channel the campaign sends on (a campaign that sends nothing reaches everyone).
        let channels = Set(campaign.allSteps.compactMap { step -> OutgoingMessage.Channel? in
            switch step.action {
            case .email: .email
            case .sms: .sms
            default: nil
            }
        })
        if !channels.isEmpty {
            var blockedBySuppression = false
            let reachable = channels.contains { channel in
                let (address, consent) = channel == .email ? (work.lead.email, work.lead.emailConsent) : (work.lead.phone, work.lead.smsConsent)
                guard address != nil, consent else { return false }
                if work.state.suppressions[channel]?.stops(kind: campaign.kind.name, transactional: campaign.isTransactional) == true {
                    blockedBySuppression = true
                    return false
                }
                return true
            }
            if !reachable { return blockedBySuppression ? .suppressed : .withoutConsent }
        }
        let before = work.enrollments.count
        processor.enroll(campaign, trigger: ["enrolled_by": .string(actor)], because: "enrolled by \(actor)", &work, now: now, advance: false,
                         startingAt: start)
        if work.enrollments.count > before { return .enrolled }
        if case .notEntered(let reason)? = work.log.last?.note, reason.contains("runs alone") { return .inExclusive }
        return .notAgain
    }
}

public struct UnknownCampaign: Error, CustomStringConvertible {
    public let id: String
    public let known: [String]
    public var description: String { "no campaign '\(id)'" + Suggestion.hint(for: id, among: known) + " (campaigns: \(known.joined(separator: ", ")))" }
}

/// Each lead's outcome, kept by lead so a unit redone after a conflict counts once.
final class EnrollmentTally: Sendable {
    private let outcomes = Mutex([String: Engine.EnrollmentOutcome]())

    func set(_ leadID: String, _ outcome: Engine.EnrollmentOutcome) {
        outcomes.withLock { $0[leadID] = outcome }
    }

    func add(to report: inout Engine.EnrollmentReport) {
        for outcome in outcomes.withLock({ Array($0.values) }) {
            switch outcome {
            case .enrolled: report.enrolled += 1
            case .notAgain: report.notAgain += 1
            case .inExclusive: report.inExclusive += 1
            case .suppressed: report.suppressed += 1
            case .withoutConsent: report.withoutConsent += 1
            }
        }
    }
}
