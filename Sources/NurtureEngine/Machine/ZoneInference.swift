public import NurtureStorage

/// Gives a lead that came without a time zone the best one its data allows, so business hours
/// and SMS quiet hours fall at its local time: its country's zone, else its phone number's
/// country's, else the configured default. Kept with its source, and worked out again whenever
/// the lead changes, until a zone is given.
public struct ZoneInference: Sendable, Hashable {
    /// `[sending] default_timezone`: where a lead with nothing to go by is taken to be.
    public var defaultZone: String

    public init(defaultZone: String = "UTC") {
        self.defaultZone = defaultZone
    }

    public func settled(_ lead: Lead) -> Lead {
        var lead = lead
        settle(&lead)
        return lead
    }

    public func settle(_ lead: inout Lead) {
        guard lead.timeZoneSource != .given else { return }
        if let country = lead.country, let pick = TimeZoneNames.zone(ofCountry: country, preferring: defaultZone) {
            (lead.timeZone, lead.timeZoneSource) = (pick.zone, pick.isGuess ? .countryGuess : .country)
        } else if let phone = lead.phone, let (country, shared) = PhoneNumber.country(of: phone),
                  let pick = TimeZoneNames.zone(ofCountry: country, preferring: defaultZone) {
            (lead.timeZone, lead.timeZoneSource) = (pick.zone, pick.isGuess || shared ? .phoneGuess : .phone)
        } else {
            (lead.timeZone, lead.timeZoneSource) = (defaultZone, .fallback)
        }
    }
}
