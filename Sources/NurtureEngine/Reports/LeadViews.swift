public import Foundation
import NurtureDSL
public import NurtureStorage

/// Leads as JSON, the same for `nurture leads top --format json` and the HTTP API: snake_case
/// keys, scores rounded to one decimal, times in ISO 8601 UTC.
public enum LeadViews {
    public struct Reason: Encodable, Sendable {
        public let label: String
        public let points: Double
    }

    /// One row of a ranking.
    public struct Ranked: Encodable, Sendable {
        public let rank: Int
        public let id: String
        public let email: String?
        public let name: String
        public let company: String?
        public let stage: String
        public let score: Double
        public let owner: String?
        public let reasons: [Reason]
    }

    /// The three reasons that moved the score most, as sales sees them.
    public static func topReasons(_ reasons: [(label: String, value: Double)]) -> [(label: String, value: Double)] {
        Array(reasons.filter { abs($0.value) >= 0.05 }.prefix(3))
    }

    public static func ranked(_ entries: [RankedLead], calculator: ScoreCalculator, now: Date) -> [Ranked] {
        entries.enumerated().map { index, entry in
            let lead = entry.lead
            let reasons = topReasons(calculator.score(lead, events: entry.events, now: now).reasons)
            return Ranked(rank: index + 1, id: lead.id, email: lead.email, name: lead.displayName, company: lead.company, stage: lead.stage.name,
                          score: ScoreText.rounded(entry.score), owner: lead.owner,
                          reasons: reasons.map { Reason(label: $0.label, points: ScoreText.rounded($0.value)) })
        }
    }

    /// `GET /v1/leads/{lead}`: the profile, consent, the score with every contribution, the
    /// enrollments and the latest events and messages.
    public struct Detail: Encodable, Sendable {
        public struct Profile: Encodable, Sendable {
            let id: String, email: String?, phone: String?, first_name: String?, last_name: String?, company: String?
            let job_title: String?, industry: String?, company_size: Int?, country: String?, timezone: String, timezone_source: String, source: String?
            let stage: String, owner: String?, tags: [String], attributes: [String: Value]
            let email_consent: Bool, sms_consent: Bool, suppressions: [String: String]
            /// What each suppression stops: `all`, `marketing` or `kinds:…`.
            let suppression_scopes: [String: String]
        }

        public struct Contribution: Encodable, Sendable {
            let label: String, kind: String, points: Double, value: Double, at: Date?
        }

        public struct Score: Encodable, Sendable {
            let total: Double, model: String, contributions: [Contribution], thresholds_crossed: [Double]
        }

        public struct EnrollmentView: Encodable, Sendable {
            let campaign: String, sequence: Int, status: String, step: String?, next_at: Date?, enrolled_at: Date, ended_at: Date?, end_reason: String?
        }

        public struct EventView: Encodable, Sendable {
            let type: String, at: Date, properties: [String: Value]
        }

        public struct MessageView: Encodable, Sendable {
            let id: String, channel: String, campaign: String, step: String, status: String, delivery: String?
            let subject: String?, created_at: Date, sent_at: Date?, attempts: Int, last_error: String?
        }

        let lead: Profile
        let score: Score?
        let enrollments: [EnrollmentView]
        let events: [EventView]
        let messages: [MessageView]
    }

    public static func detail(_ detail: LeadDetail, card: ScoreCard?) -> Detail {
        let lead = detail.work.lead
        let profile = Detail.Profile(
            id: lead.id, email: lead.email, phone: lead.phone, first_name: lead.firstName, last_name: lead.lastName, company: lead.company,
            job_title: lead.jobTitle, industry: lead.industry, company_size: lead.companySize, country: lead.country, timezone: lead.timeZone,
            timezone_source: lead.timeZoneSource.rawValue,
            source: lead.source, stage: lead.stage.name, owner: lead.owner, tags: lead.tags.sorted(), attributes: lead.attributes,
            email_consent: lead.emailConsent, sms_consent: lead.smsConsent,
            suppressions: Dictionary(uniqueKeysWithValues: detail.work.state.suppressions.map { ($0.key.rawValue, $0.value.reason) }),
            suppression_scopes: Dictionary(uniqueKeysWithValues: detail.work.state.suppressions.map { ($0.key.rawValue, $0.value.scope.stored) }))
        let score = card.map { card in
            Detail.Score(
                total: ScoreText.rounded(card.total), model: card.modelVersion,
                contributions: card.contributions.filter { abs($0.value) >= 0.05 }.sorted { abs($0.value) > abs($1.value) }.map {
                    Detail.Contribution(label: $0.label, kind: "\($0.kind)", points: ScoreText.rounded($0.points), value: ScoreText.rounded($0.value), at: $0.at)
                },
                thresholds_crossed: detail.work.state.scoring.thresholds.fired.sorted())
        }
        return Detail(
            lead: profile, score: score,
            enrollments: detail.work.enrollments.map {
                Detail.EnrollmentView(campaign: $0.campaignID, sequence: $0.sequence, status: $0.status.rawValue, step: $0.isActive ? $0.stepID : nil,
                                      next_at: $0.isActive ? $0.wakeAt.map(CampaignPause.unparked) : nil, enrolled_at: $0.enrolledAt, ended_at: $0.endedAt, end_reason: $0.endReason)
            },
            events: detail.timeline.map { Detail.EventView(type: $0.type, at: $0.at, properties: $0.properties) },
            messages: detail.messages.map {
                Detail.MessageView(id: $0.id, channel: $0.channel.rawValue, campaign: $0.campaignID, step: $0.stepID, status: $0.status.rawValue,
                                   delivery: $0.delivery, subject: $0.subject, created_at: $0.createdAt, sent_at: $0.sentAt, attempts: $0.attempts,
                                   last_error: $0.lastError)
            })
    }

    /// Everything Nurture holds about a person (`nurture leads export`, `GET /v1/leads/{id}/export`):
    /// the profile and consent, the score and why, every journey, every event and every message
    /// with its content and the address it went to.
    public struct Export: Encodable, Sendable {
        public struct MessageExport: Encodable, Sendable {
            let id: String, channel: String, address: String, campaign: String, step: String, status: String, delivery: String?
            let created_at: Date, sent_at: Date?, subject: String?, text: String, html: String?
        }

        let exported_at: Date
        let about: String
        let lead: Detail.Profile
        let score: Detail.Score?
        let enrollments: [Detail.EnrollmentView]
        let events: [Detail.EventView]
        let messages: [MessageExport]
    }

    public static func export(_ lead: LeadDetail, card: ScoreCard?, at: Date) -> Export {
        let detail = detail(lead, card: card)
        let messages = lead.messages.map { message in
            let payload = (try? JSONSerialization.jsonObject(with: Data(message.payload.utf8))) as? [String: Any]
            return Export.MessageExport(
                id: message.id, channel: message.channel.rawValue, address: message.address, campaign: message.campaignID, step: message.stepID,
                status: message.status.rawValue, delivery: message.delivery, created_at: message.createdAt, sent_at: message.sentAt,
                subject: message.subject, text: message.preview, html: payload?["html"] as? String)
        }
        return Export(
            exported_at: at, about: "Everything Nurture holds about this person: profile, consent and suppressions, score, journeys, events and messages.",
            lead: detail.lead, score: detail.score, enrollments: detail.enrollments, events: detail.events, messages: messages)
    }

    /// Sorted keys, ISO 8601 dates, slashes unescaped: stable output for people and diffs.
    public static func encoder(pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}

extension Lead {
    /// "Ana Costa", or empty when the lead has no name.
    public var displayName: String { [firstName, lastName].compactMap { $0 }.joined(separator: " ") }
}
