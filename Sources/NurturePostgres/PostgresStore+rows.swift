import Foundation
import NurtureDSL
import NurtureStorage
import PostgresNIO

/// Row mapping.
extension PostgresStore {
    static func date(_ seconds: Double?) -> Date? { seconds.map { Date(timeIntervalSince1970: $0) } }

    static func properties(_ text: String) -> [String: Value] {
        text == "{}" ? [:] : FlatJSON.object(text) ?? (try? JSONDecoder().decode([String: Value].self, from: Data(text.utf8))) ?? [:]
    }

    static func strings(_ text: String) -> [String] {
        text == "[]" ? [] : FlatJSON.strings(text) ?? (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    static func lead(_ row: PostgresRandomAccessRow) throws -> Lead {
        Lead(
            id: try row["id"].decode(String.self), email: try row["email"].decode(String?.self), phone: try row["phone"].decode(String?.self),
            firstName: try row["first_name"].decode(String?.self), lastName: try row["last_name"].decode(String?.self),
            company: try row["company"].decode(String?.self), jobTitle: try row["job_title"].decode(String?.self),
            industry: try row["industry"].decode(String?.self), companySize: try row["company_size"].decode(Int?.self),
            country: try row["country"].decode(String?.self), timeZone: try row["timezone"].decode(String.self),
            timeZoneSource: TimeZoneSource(rawValue: try row["timezone_source"].decode(String.self)) ?? .given,
            source: try row["source"].decode(String?.self), stage: Stage(rawValue: try row["stage"].decode(Int.self)) ?? .lead,
            score: try row["score"].decode(Double.self), tags: Set(strings(try row["tags"].decode(String.self))),
            attributes: properties(try row["attributes"].decode(String.self)),
            emailConsent: try row["email_consent"].decode(Bool.self), smsConsent: try row["sms_consent"].decode(Bool.self),
            owner: try row["owner"].decode(String?.self))
    }

    static func scoreSnapshot(_ row: PostgresRandomAccessRow) throws -> ScoreSnapshot {
        var snapshot = ScoreSnapshot()
        snapshot.fixedPoints = try row["score_fixed"].decode(Double.self)
        snapshot.gains = try row["score_gains"].decode(Double.self)
        snapshot.losses = try row["score_losses"].decode(Double.self)
        snapshot.gainsRank = try row["score_rank"].decode(Double?.self)
        snapshot.scoredAt = date(try row["scored_at"].decode(Double?.self))
        snapshot.lastActivityAt = date(try row["last_activity_at"].decode(Double?.self))
        snapshot.modelVersion = try row["score_version"].decode(String?.self)
        snapshot.thresholds = ThresholdState(stored: try row["score_thresholds"].decode(String.self))
        return snapshot
    }

    static func event(_ row: PostgresRandomAccessRow) throws -> LeadEvent {
        LeadEvent(try row["type"].decode(String.self), at: Date(timeIntervalSince1970: try row["at"].decode(Double.self)),
                  properties: properties(try row["properties"].decode(String.self)))
    }

    static func enrollment(_ row: PostgresRandomAccessRow) throws -> Enrollment {
        var enrollment = Enrollment(
            leadID: try row["lead_id"].decode(String.self), campaignID: try row["campaign_id"].decode(String.self),
            sequence: try row["sequence"].decode(Int.self), firstStep: try row["step_id"].decode(String?.self),
            enrolledAt: Date(timeIntervalSince1970: try row["enrolled_at"].decode(Double.self)),
            trigger: properties(try row["trigger"].decode(String.self)))
        enrollment.status = Enrollment.Status(rawValue: try row["status"].decode(String.self)) ?? .exited
        enrollment.phase = Enrollment.Phase(rawValue: try row["phase"].decode(String.self)) ?? .ready
        enrollment.wakeAt = date(try row["wake_at"].decode(Double?.self))
        enrollment.endedAt = date(try row["ended_at"].decode(Double?.self))
        enrollment.endReason = try row["end_reason"].decode(String?.self)
        let variants = properties(try row["variants"].decode(String.self))
        enrollment.variants = variants.compactMapValues { if case .string(let text) = $0 { text } else { nil } }
        enrollment.messagesProduced = try row["messages_produced"].decode(Int.self)
        return enrollment
    }

    static func message(_ row: PostgresRandomAccessRow) throws -> OutboxMessage {
        var message = OutboxMessage(
            id: try row["id"].decode(String.self), leadID: try row["lead_id"].decode(String.self), campaignID: try row["campaign_id"].decode(String.self),
            stepID: try row["step_id"].decode(String.self), channel: MessageChannel(rawValue: try row["channel"].decode(String.self)) ?? .email,
            address: try row["address"].decode(String.self), variant: try row["variant"].decode(String?.self),
            subject: try row["subject"].decode(String?.self), preview: try row["preview"].decode(String.self), payload: try row["payload"].decode(String.self),
            isTransactional: try row["transactional"].decode(Bool.self), createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)))
        message.status = OutboxMessage.Status(rawValue: try row["status"].decode(String.self)) ?? .pending
        message.attempts = try row["attempts"].decode(Int.self)
        message.nextAttemptAt = Date(timeIntervalSince1970: try row["next_attempt_at"].decode(Double.self))
        message.lastError = try row["last_error"].decode(String?.self)
        message.leaseOwner = try row["lease_owner"].decode(String?.self)
        message.leaseUntil = date(try row["lease_until"].decode(Double?.self))
        message.sentAt = date(try row["sent_at"].decode(Double?.self))
        message.delivery = try row["delivery"].decode(String?.self)
        return message
    }
}
