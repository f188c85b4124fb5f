import Foundation
import NurtureDSL
import NurtureEngine

/// `/openapi.yaml`. A test checks that every route the router has is here and nothing else, and
/// `scripts/schemathesis.sh` checks from outside that the server accepts exactly what this says:
/// everything the schemas allow is taken (or answered with a documented 404), everything they
/// forbid is refused. So the constraints the handlers check are written here too — lengths,
/// patterns, item counts, the one-of between `email` and `lead_id` — and the parts that depend
/// on the playbook (declared attributes, the fields `segment` can name) are filled in from it.
enum OpenAPIDocument {
    /// Each provider's own inbound route (`ProviderInboundRoutes`, `SESInboundRoute`): verified by
    /// its own scheme, answering as the generic inbound routes do.
    static var providerInboundPaths: String {
        let json = "application/json:\n  schema: {type: object}"
        let answer = ##"{description: Applied, ignored or a replay acknowledged, content: {application/json: {schema: {$ref: "#/components/schemas/InboundAnswer"}}}}"##
        let routes: [(name: String, summary: String, verified: String, scheme: String, content: String, ok: String)] = [
            ("postmark", "Postmark webhooks (Delivery, Bounce, SpamComplaint, Open, Click, SubscriptionChange)",
             "Verified by the basic auth in the webhook URL given to Postmark ([inbound.postmark]).", "postmarkBasic", json, answer),
            ("sendgrid", "SendGrid Event Webhook (an array of events)",
             "Verified by the Signed Event Webhook's ECDSA signature ([inbound.sendgrid] public_key_env).", "sendgridSignature",
             "application/json:\n  schema: {type: array, items: {type: object}}", answer),
            ("mailgun", "Mailgun webhooks (delivered, failed, complained, unsubscribed, opened, clicked)",
             "Verified by HMAC-SHA256 of timestamp and token with the webhook signing key ([inbound.mailgun]); a token applies once.",
             "mailgunSignature", json, answer),
            ("twilio", "Twilio incoming messages and status callbacks",
             "Verified by X-Twilio-Signature over public_url, path, query and sorted form fields ([inbound.twilio]). Answers empty TwiML.",
             "twilioSignature", "application/x-www-form-urlencoded:\n  schema: {type: object}",
             "{description: Applied, ignored or a replay acknowledged, content: {text/xml: {}}}"),
            ("telnyx", "Telnyx messaging webhooks (message.received, message.finalized)",
             "Verified by the Ed25519 signature over timestamp|body ([inbound.telnyx] public_key_env).", "telnyxSignature", json, answer),
            ("ses", "Amazon SES events through an SNS topic (Bounce, Complaint, Delivery, Open, Click)",
             "Verified against the SNS signing certificate (fetched from an Amazon SNS host over https, cached), signature versions 1 and 2; "
                + "only topics in [inbound.ses] topic_arn. A SubscriptionConfirmation is confirmed by fetching its SubscribeURL.",
             "snsSignature", "text/plain:\n  schema: {type: string}\n" + json, answer),
        ]
        return routes.map { route in
            """
              /v1/inbound/\(route.name):
                post:
                  summary: \(route.summary)
                  description: >
                    \(route.verified) Events map onto the same suppression, scoring and campaign calls as
                    /v1/inbound/email and /v1/inbound/sms.
                  security: [{\(route.scheme): []}]
                  requestBody:
                    required: true
                    content:
                      \(route.content.replacingOccurrences(of: "\n", with: "\n          "))
                  responses:
                    "200": \(route.ok)
                    "400": {$ref: "#/components/responses/BadRequest"}
                    "401": {$ref: "#/components/responses/Unauthorized"}
                    "413": {$ref: "#/components/responses/TooLarge"}
                    "503": {$ref: "#/components/responses/Busy"}
            """
        }.joined(separator: "\n")
    }

    /// A plausible email as `LeadRowParser.isPlausibleEmail` checks it, in ASCII: a local part of
    /// 1 to 64 characters without spaces, `"`, `,`, `<`, `>` or `@`; a dotted domain of letters,
    /// digits and hyphens. `around` is the whitespace the field's reader trims.
    static func emailPattern(around: String) -> String {
        #"^\#(around)*[!#-+\x2D-;=?A-~]{1,64}@[A-Za-z0-9-]{1,62}(\.[A-Za-z0-9-]{1,62}){1,3}\#(around)*$"#
    }

    /// `EventRoutes.isEventType`: a lowercase letter, then letters, digits, `_`, `-`, `.`, not
    /// ending in a dot, at most 100 characters.
    static let eventTypePattern = #"^[a-z]([a-z0-9_.-]{0,98}[a-z0-9_-])?$"#

    /// ISO 8601 with a zone, as `parseInstant` reads it, in a year before this one: an event time
    /// must not be in the future (five minutes of clock skew are allowed), and a pattern cannot
    /// say "before now".
    static func pastInstantPattern(now: Date) -> String {
        let year = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: now).year ?? 2026
        let years = (["19[0-9]{2}"] + (2000..<max(2001, year)).map(String.init)).joined(separator: "|")
        return #"^(\#(years))-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])$"#
    }

    /// A UTC day as `stats` takes it (CampaignStats.isDay): month 01–12, day 01–31.
    static let dayPattern = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"

    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    static func list(_ items: [String]) -> String { "[" + items.map(quoted).joined(separator: ", ") + "]" }

    /// A declared attribute's value: any scalar; one its type cannot take is left out with a
    /// warning, as the CSV import does (LeadValue).
    static func attributeSchema(_ type: AttributeType) -> String {
        "{$ref: '#/components/schemas/LeadValue'}"
    }

    static func yaml(playbook: Playbook, settings: NurtureServer.Settings, now: Date) -> String {
        let attributes = playbook.attributes.sorted { $0.name < $1.name }
        // Interpolated text keeps its own indentation: each line carries the spaces it needs.
        func properties(indent: Int) -> String {
            attributes.isEmpty ? " {}" : attributes.map { "\n" + String(repeating: " ", count: indent) + "\($0.name): \(attributeSchema($0.type))" }.joined()
        }
        // Each built-in column, under its own name and its aliases, with the schema of its rules.
        func columnSchema(_ column: LeadRowParser.Column) -> String {
            switch column {
            // Only the email can refuse a lead; any other field takes any scalar and leaves out,
            // with a warning, a value it cannot take (LeadValue).
            case .email: "LeadEmail"
            default: "LeadValue"
            }
        }
        let columnProperties = LeadPayload.columnNames.compactMap { name in
            LeadRowParser.builtInColumns[name].map { "\n        \(name): {$ref: '#/components/schemas/\(columnSchema($0))'}" }
        }.joined()
        // An attribute given at the top level and in "attributes" too is refused as named twice.
        let dependencies = attributes.isEmpty ? "" : "\n      dependentSchemas:" + attributes.map {
            "\n        \($0.name): {properties: {attributes: {not: {required: [\($0.name)]}}}}"
        }.joined()
        let segmentNames = (["tag"] + LeadField.names.sorted() + attributes.map(\.name).filter { !LeadField.names.contains($0) })
        // As LeadSegment reads it: NAME=VALUE (or NAME:VALUE), split at the first of the two; a stage must be one.
        let segmentPattern = "^(?:(?:" + segmentNames.filter { $0 != "stage" }.joined(separator: "|") + #")[=:][\s\S]*|stage[=:](?:"#
            + Stage.allCases.map(\.name).joined(separator: "|") + "))$"
        let reserved = EventInput.reservedTypes.sorted()
        let batch = settings.maxBatch
        return #"""
            openapi: 3.1.0
            info:
              title: Nurture
              version: "1"
              description: >
                Lead nurturing and drip campaigns. The /v1 API takes leads and events and answers with
                rankings and explanations; tracking, unsubscribe and inbound provider webhooks need no
                API key (they carry signed tokens or Standard Webhooks signatures instead). A method a
                path does not serve is answered 405 with Allow; a body over the server's max_body_bytes
                is answered 413 and the connection is closed.
            components:
              securitySchemes:
                apiKey:
                  type: http
                  scheme: bearer
                  description: A key from NURTURE_API_KEYS.
                postmarkBasic: {type: http, scheme: basic, description: The user and password in the webhook URL Postmark posts to.}
                sendgridSignature: {type: apiKey, in: header, name: X-Twilio-Email-Event-Webhook-Signature}
                mailgunSignature: {type: apiKey, in: header, name: X-Mailgun-Signature, description: The signature travels in the body's "signature" object.}
                twilioSignature: {type: apiKey, in: header, name: X-Twilio-Signature}
                telnyxSignature: {type: apiKey, in: header, name: telnyx-signature-ed25519}
                snsSignature: {type: apiKey, in: header, name: x-amz-sns-message-type, description: The signature travels in the SNS message's Signature field.}
                standardWebhooks:
                  type: apiKey
                  in: header
                  name: webhook-signature
                  description: >
                    Standard Webhooks: webhook-id, webhook-timestamp (within 5 minutes) and
                    webhook-signature "v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>".
              schemas:
                Error:
                  type: object
                  required: [error]
                  properties:
                    error:
                      type: object
                      required: [code, message]
                      properties:
                        code: {type: string, examples: [invalid_request, unauthorized, not_found, method_not_allowed, body_too_large, batch_too_large, database_busy]}
                        message: {type: string}
                        problems:
                          type: array
                          items:
                            type: object
                            required: [path, message]
                            properties:
                              path: {type: string, description: "JSON path into the body, such as $[3].email, or a query parameter's name", examples: ["$[3].email"]}
                              message: {type: string}
                LeadValue:
                  description: "A lead field's value, as a CSV cell: a number or boolean is taken as its text; empty, blank or null leaves the stored value. A value the field cannot take (a phone that is not one, a size that is not a whole number, an unknown time zone, a flag that is not yes or no, a control character other than tab and line breaks in free text) is left out, and the item's result lists it under warnings; the lead is stored with its other fields."
                  type: [string, number, boolean, "null"]
                Text:
                  description: "Text, as a CSV cell: a number or boolean is taken as its text; empty, blank or null leaves the stored value. Tabs and line breaks are allowed, other control characters are not."
                  anyOf:
                    - {type: string, pattern: '^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$'}
                    - {type: [number, boolean, "null"]}
                TextLine:
                  description: "One line of text, as a CSV cell: a number or boolean is taken as its text; empty, blank or null leaves the stored value. No control characters."
                  anyOf:
                    - {type: string, pattern: '^[^\x00-\x1F\x7F]*$'}
                    - {type: [number, boolean, "null"]}
                NumberOrText:
                  description: A number, or text that reads as one; empty, blank or null leaves the stored value.
                  anyOf:
                    - {type: number}
                    - {type: string, pattern: '^[ ]*[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]{1,3})?[ ]*$'}
                    - {type: string, pattern: '^[ ]*$'}
                    - {type: "null"}
                Flag:
                  description: "true or false; also 1/0 and, as text, true/false, yes/no, y/n, 1/0 in any case; empty, blank or null leaves the stored value."
                  anyOf:
                    - {type: boolean}
                    - {enum: [0, 1]}
                    - {type: string, pattern: '^[ ]*([Tt][Rr][Uu][Ee]|[Yy]([Ee][Ss])?|[Ff][Aa][Ll][Ss][Ee]|[Nn][Oo]?|1|0)?[ ]*$'}
                    - {type: "null"}
                LeadEmail: {type: string, pattern: \#(quoted(emailPattern(around: " "))), examples: [ana@fernhill.example]}
                Lead:
                  type: object
                  description: >
                    The CSV import's columns as keys, with its rules: values are trimmed, and an empty
                    or null value leaves what is stored (the import's header aliases, such as e_mail
                    or tz, are CSV conveniences: the API names each field once). Attributes the playbook declares may be given at the top level or in
                    "attributes" (not both); any other attribute goes in "attributes", stored as text,
                    so a misspelt field is refused rather than kept as an attribute. Upserted by email.
                  required: [email]
                  properties:\#(columnProperties)\#(properties(indent: 8))
                    attributes:
                      type: object
                      description: Attributes by name; a built-in column's name is refused here.
                      propertyNames:
                        pattern: '^[a-z0-9_]+$'
                        not: {enum: \#(list(LeadRowParser.builtInColumns.keys.sorted()))}
                      properties:\#(properties(indent: 12))
                      additionalProperties: {$ref: '#/components/schemas/LeadValue'}
                  additionalProperties: false\#(dependencies)
                LeadResult:
                  type: object
                  required: [status]
                  properties:
                    index: {type: integer, description: Position in the request array (arrays only)}
                    status: {type: string, enum: [imported, updated, unchanged, rejected]}
                    id: {type: string}
                    email: {type: string}
                    errors: {type: array, items: {type: object, required: [path, message], properties: {path: {type: string}, message: {type: string}}}}
                    warnings: {type: array, description: "Fields the lead was stored without, and why", items: {type: object, required: [path, message], properties: {path: {type: string}, message: {type: string}}}}
                LeadResults:
                  oneOf:
                    - {$ref: "#/components/schemas/LeadResult"}
                    - {type: object, required: [results], properties: {results: {type: array, items: {$ref: "#/components/schemas/LeadResult"}}}}
                Event:
                  type: object
                  required: [type]
                  description: Who did it is given by email or by lead_id, exactly one of them.
                  properties:
                    id: {type: ["string", "null"], minLength: 1, maxLength: 200, pattern: '^[^\x00-\x1F\x7F]*$', description: "The sender's id; an id already stored is not stored again"}
                    email: {type: ["string", "null"]}
                    lead_id: {type: ["string", "null"]}
                    type:
                      type: string
                      pattern: \#(quoted(eventTypePattern))
                      not: {enum: \#(list(reserved))}
                      description: "Lowercase letters, digits, _, - and dots, such as page.viewed; at most 100 characters; the types Nurture records itself are refused."
                      examples: [page.viewed]
                    at:
                      type: ["string", "null"]
                      pattern: \#(quoted(pastInstantPattern(now: now)))
                      description: "ISO 8601 with a zone; defaults to now; not in the future (the pattern admits years before this one; the server takes anything up to five minutes after its clock)."
                    properties:
                      type: ["object", "null"]
                      description: Scalar values by name; text may hold tabs and line breaks, but no other control characters.
                      propertyNames: {minLength: 1, pattern: '^[^\x00-\x1F\x7F]*$'}
                      additionalProperties:
                        anyOf:
                          - {type: string, pattern: '^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$'}
                          - {type: [number, boolean, "null"]}
                    create: {type: [boolean, "null"], default: true, description: Create an unknown email as a new lead}
                  oneOf:
                    - required: [email]
                      properties:
                        email: {type: string, pattern: \#(quoted(emailPattern(around: " ")))}
                        lead_id: {type: "null"}
                    - required: [lead_id]
                      properties:
                        lead_id: {type: string, minLength: 1, maxLength: 200, pattern: '^[^\x00-\x1F\x7F]*$'}
                        email: {type: "null"}
                EventResult:
                  type: object
                  required: [status]
                  properties:
                    index: {type: integer}
                    status: {type: string, enum: [stored, created, duplicate, unknown_lead]}
                    lead_id: {type: string}
                RankedLead:
                  type: object
                  properties:
                    rank: {type: integer}
                    id: {type: string}
                    email: {type: string}
                    name: {type: string}
                    company: {type: string}
                    stage: {type: string}
                    score: {type: number}
                    owner: {type: string}
                    reasons: {type: array, items: {type: object, properties: {label: {type: string}, points: {type: number}}}}
                CampaignStats:
                  type: object
                  required: [campaign, name, entered, active, completed, exited, outcomes, steps, suppressed_by]
                  properties:
                    campaign: {type: string}
                    name: {type: string}
                    since: {type: [string, "null"]}
                    until: {type: [string, "null"]}
                    entered: {type: integer}
                    active: {type: integer}
                    completed: {type: integer}
                    exited: {type: integer}
                    outcomes:
                      type: array
                      items: {type: object, required: [status, reason, count, goal], properties: {status: {type: string}, reason: {type: string}, count: {type: integer}, rate: {type: [number, "null"]}, goal: {type: boolean}}}
                    steps:
                      type: array
                      description: Message steps in journey order, each followed by its A/B variants; rates are shares of what was sent
                      items:
                        type: object
                        required: [step, channel, queued, sent, delivered, opened, clicked, bounced, complained, dead, suppressed]
                        properties:
                          step: {type: string}
                          channel: {type: string}
                          variant: {type: string}
                          queued: {type: integer}
                          sent: {type: integer}
                          delivered: {type: integer}
                          bounced: {type: integer}
                          soft_bounced: {type: integer}
                          complained: {type: integer}
                          failed: {type: integer}
                          opened: {type: integer}
                          clicked: {type: integer}
                          dead: {type: integer}
                          suppressed: {type: integer}
                          delivery_rate: {type: [number, "null"]}
                          open_rate: {type: [number, "null"]}
                          click_rate: {type: [number, "null"]}
                          bounce_rate: {type: [number, "null"]}
                          complaint_rate: {type: [number, "null"]}
                          converted: {type: integer, description: Goals and conversions credited to this step as the last touch}
                          skipped: {type: integer, description: "Leads the step produced no message for: no consent or address, suppressed, held out, cannot render"}
                          capped: {type: integer, description: Times a frequency cap held the step back}
                          unsubscribed: {type: integer, description: Unsubscribes credited to the step (the lead's last message on that channel before it)}
                          revenue: {type: number}
                          cost: {type: [number, "null"], description: "Its sends at [costs]; null when no cost is set for its channel"}
                          roi: {type: [number, "null"]}
                    suppressed_by: {type: object, additionalProperties: {type: integer}}
                    skipped_by: {type: object, additionalProperties: {type: integer}, description: Send steps that produced no message (and cap holds) by reason}
                    days:
                      type: array
                      description: The campaign day by day (UTC), for charts; days with nothing counted are left out
                      items: {type: object, properties: {day: {type: string}, entered: {type: integer}, sent: {type: integer}, opened: {type: integer}, clicked: {type: integer}, conversions: {type: integer}}}
                    experiments:
                      type: array
                      description: One per A/B split; each arm against the first by the mSPRT, valid however often it is read
                      items:
                        type: object
                        properties:
                          step: {type: string}
                          metric: {type: string}
                          test: {type: string}
                          confidence: {type: number}
                          arms: {type: array, items: {type: object, properties: {variant: {type: string}, weight: {type: integer}, sent: {type: integer}, conversions: {type: integer}, rate: {type: [number, "null"]}}}}
                          versus: {type: array, items: {type: object, properties: {variant: {type: string}, baseline: {type: string}, significant: {type: boolean}, comparison: {type: object, properties: {difference: {type: number}, low: {type: number}, high: {type: number}, p_value: {type: number}}}}}}
                          sample_ratio_p_value: {type: [number, "null"]}
                          sample_ratio_mismatch: {type: boolean}
                          winner_rule: {type: string}
                          decision: {type: [object, "null"], properties: {variant: {type: string}, at: {type: string, format: date-time}, by: {type: string}, figures: {type: object}}}
                    conversions: {type: integer}
                    revenue: {type: number}
                    cost: {type: [number, "null"]}
                    roi: {type: [number, "null"], description: (revenue − cost) / cost}
                    attribution: {type: string, description: The rule conversions are credited by}
                    goals:
                      type: array
                      description: Each goal or conversion event credited to the campaign, with its value
                      items: {type: object, properties: {event: {type: string}, conversions: {type: integer}, revenue: {type: number}}}
                    holdout:
                      type: [object, "null"]
                      description: The campaign against the entrants it kept out at random, on the share that reached a goal
                      properties:
                        percent: {type: integer}
                        treatment: {type: object, properties: {entered: {type: integer}, converted: {type: integer}, rate: {type: [number, "null"]}}}
                        holdout: {type: object, properties: {entered: {type: integer}, converted: {type: integer}, rate: {type: [number, "null"]}}}
                        lift: {type: [object, "null"], properties: {difference: {type: number}, low: {type: number}, high: {type: number}, p_value: {type: number}}}
                        significant: {type: boolean}
                        test: {type: string}
                    paused:
                      type: [object, "null"]
                      description: Why and since when nothing is sent from the campaign, while it is paused
                      properties: {at: {type: string, format: date-time}, reason: {type: string}, by: {type: string}}
                ControlAnswer:
                  type: object
                  required: [campaign, paused, changed]
                  properties: {campaign: {type: string}, paused: {type: boolean}, changed: {type: boolean}}
                InboundAnswer:
                  type: object
                  required: [replayed, results]
                  properties:
                    replayed: {type: boolean, description: "True when every item was seen before under this webhook-id: acknowledged, not applied again"}
                    results: {type: array, items: {type: object, properties: {status: {type: string, enum: [stored, duplicate, suppressed, unknown_lead]}, lead_id: {type: string}}}}
                Health:
                  type: object
                  required: [status, database, worker]
                  properties:
                    status: {type: string, enum: [ok, unhealthy]}
                    database: {type: string}
                    worker: {type: string, enum: [ok, starting, stalled, disabled]}
                    worker_last_seen: {type: string, format: date-time}
              responses:
                BadRequest:
                  description: Malformed JSON or invalid items or parameters; nothing was stored.
                  content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
                Unauthorized:
                  description: Missing or wrong credentials.
                  headers: {WWW-Authenticate: {schema: {type: string}}}
                  content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
                TooLarge:
                  description: The body is over max_body_bytes (the connection is then closed), or the batch over \#(batch) items.
                  content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
                NotFound:
                  description: No such lead, or a link token that is not valid.
                  content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
                Busy:
                  description: The database is busy (a long write lock); nothing was stored. Retry after Retry-After seconds.
                  headers: {Retry-After: {schema: {type: integer}}}
                  content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
            paths:
              /v1/leads:
                post:
                  summary: Upsert one lead or an array of leads by email
                  description: >
                    An array is judged item by item: an item that is not a valid Lead is reported
                    rejected in its result, with the JSON path of its problem, and the valid ones
                    are stored in one transaction. One lead sent alone is stored or refused (422).
                  security: [{apiKey: []}]
                  requestBody:
                    required: true
                    content:
                      application/json:
                        schema:
                          oneOf:
                            - {$ref: "#/components/schemas/Lead"}
                            - type: array
                              minItems: 1
                              maxItems: \#(batch)
                              items:
                                anyOf:
                                  - {$ref: "#/components/schemas/Lead"}
                                  - {description: "Anything else: reported rejected in its result; the rest of the array is still taken"}
                  responses:
                    "200":
                      description: "A result per lead: an object for one lead; {results: [...]} for an array, whatever each item's outcome"
                      content: {application/json: {schema: {$ref: "#/components/schemas/LeadResults"}}}
                    "400": {$ref: "#/components/responses/BadRequest"}
                    "401": {$ref: "#/components/responses/Unauthorized"}
                    "413": {$ref: "#/components/responses/TooLarge"}
                    "422":
                      description: The one lead sent was rejected; its result says why
                      content: {application/json: {schema: {$ref: "#/components/schemas/LeadResults"}}}
                    "503": {$ref: "#/components/responses/Busy"}
              /v1/events:
                post:
                  summary: Record one event or an array of events
                  description: >
                    All items are validated first and stored in one transaction, or none is. Each acts
                    at once: scoring, campaign goals, waits and entries.
                  security: [{apiKey: []}]
                  requestBody:
                    required: true
                    content:
                      application/json:
                        schema:
                          oneOf:
                            - {$ref: "#/components/schemas/Event"}
                            - {type: array, minItems: 1, maxItems: \#(batch), items: {$ref: "#/components/schemas/Event"}}
                  responses:
                    "200":
                      description: "A result per event (an object for one event, {results: [...]} for an array)"
                      content: {application/json: {schema: {oneOf: [{$ref: "#/components/schemas/EventResult"}, {type: object, required: [results], properties: {results: {type: array, items: {$ref: "#/components/schemas/EventResult"}}}}]}}}
                    "400": {$ref: "#/components/responses/BadRequest"}
                    "401": {$ref: "#/components/responses/Unauthorized"}
                    "404": {description: "One event for an unknown lead_id, or an unknown email with create: false", content: {application/json: {schema: {$ref: "#/components/schemas/EventResult"}}}}
                    "413": {$ref: "#/components/responses/TooLarge"}
                    "503": {$ref: "#/components/responses/Busy"}
              /v1/leads/top:
                get:
                  summary: The best prospects by score now, with their top reasons
                  security: [{apiKey: []}]
                  parameters:
                    - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 25}}
                    - {name: stage, in: query, schema: {type: string, enum: [subscriber, lead, mql, sql, opportunity, customer]}}
                    - name: segment
                      in: query
                      description: "NAME=VALUE (or NAME:VALUE), where NAME is tag, stage, a lead field or a declared attribute; repeatable, all must match"
                      schema: {type: array, items: {type: string, pattern: \#(quoted(segmentPattern))}}
                      style: form
                      explode: true
                      examples: {industry: {value: ["industry:SaaS"]}}
                  responses:
                    "200":
                      description: The ranking
                      content: {application/json: {schema: {type: object, required: [at, leads], properties: {at: {type: string, format: date-time}, leads: {type: array, items: {$ref: "#/components/schemas/RankedLead"}}}}}}
                    "400": {$ref: "#/components/responses/BadRequest"}
                    "401": {$ref: "#/components/responses/Unauthorized"}
                    "503": {$ref: "#/components/responses/Busy"}
              /v1/leads/{lead}:
                get:
                  summary: A lead with its score explained, enrollments and latest events and messages
                  security: [{apiKey: []}]
                  parameters:
                    - {name: lead, in: path, required: true, description: Lead id or email, schema: {type: string, minLength: 1}}
                  responses:
                    "200": {description: The lead, content: {application/json: {schema: {type: object}}}}
                    "401": {$ref: "#/components/responses/Unauthorized"}
                    "404": {$ref: "#/components/responses/NotFound"}
                    "503": {$ref: "#/components/responses/Busy"}
                delete:
                  summary: Forget a person (erasure) - the lead and every row naming it; the addresses stay suppressed as keyed hashes
                  security: [{apiKey: []}]
                  parameters:
                    - {name: lead, in: path, required: true, description: Lead id or email, schema: {type: string, minLength: 1}}
                  responses:
                    "200":
                      description: Erased, with how many rows of each kind
                      content:
                        application/json:
                          schema:
                            type: object
                            required: [id, erased]
                            properties:
                              id: {type: string}
                              erased:
                                type: object
                                required: [events, enrollments, messages, conversions, suppressions]
                                properties: {events: {type: integer}, enrollments: {type: integer}, messages: {type: integer}, conversions: {type: integer}, suppressions: {type: integer}}
                    "401": {$ref: "#/components/responses/Unauthorized"}
                    "404": {$ref: "#/components/responses/NotFound"}
                    "503": {$ref: "#/components/responses/Busy"}
              /v1/leads/{lead}/export:
                get:
                  summary: Everything held about a person (a data subject access request) - profile, consent, score, journeys, every event and message
                  security: [{apiKey: []}]
                  parameters:
                    - {name: lead, in: path, required: true, description: Lead id or email, schema: {type: string, minLength: 1}}
                  responses:
                    "200":
                      description: The export
                      content:
                        application/json:
                          schema:
                            type: object
                            required: [exported_at, lead, enrollments, events, messages]
                            properties:
                              exported_at: {type: string, format: date-time}
                              lead: {type: object}
                              enrollments: {type: array}
                              events: {type: array}
                              messages: {type: array}
                    "401": {$ref: "#/components/responses/Unauthorized"}
                    "404": {$ref: "#/components/responses/NotFound"}
                    "503": {$ref: "#/components/responses/Busy"}
              /v1/leads/{lead}/outcome:
                post:
                  summary: Record sales' verdict on a lead (won makes it a customer)
                  security: [{apiKey: []}]
                  parameters:
                    - {name: lead, in: path, required: true, description: Lead id or email, schema: {type: string, minLength: 1}}
                  requestBody:
                    required: true
                    content:
                      application/json:
                        schema:
                          type: object
                          required: [outcome]
                          properties:
                            outcome: {type: string, enum: [won, lost, bad-fit]}
                            note: {type: [string, "null"]}
                            by: {type: [string, "null"]}
                  responses:
                    "200": {description: Recorded, content: {application/json: {schema: {type: object, required: [id, outcome], properties: {id: {type: string}, outcome: {type: string}}}}}}
                    "400": {$ref: "#/components/responses/BadRequest"}
                    "401": {$ref: "#/components/responses/Unauthorized"}
                    "404": {$ref: "#/components/responses/NotFound"}
                    "413": {$ref: "#/components/responses/TooLarge"}
                    "503": {$ref: "#/components/responses/Busy"}
              /v1/campaigns/{campaign}/enrollments:
                post:
                  summary: Put existing leads into a campaign (a segment, emails, lead ids or all), honouring re-entry, suppressions and consent
                  security: [{apiKey: []}]
                  parameters:
                    - {name: campaign, in: path, required: true, schema: {type: string, minLength: 1}}
                  requestBody:
                    required: true
                    content:
                      application/json:
                        schema:
                          type: object
                          description: Exactly one of segment, emails, lead_ids or all.
                          properties:
                            segment: {type: array, minItems: 1, items: {type: string, pattern: \#(quoted(segmentPattern))}, description: "NAME=VALUE, as nurture leads enroll --segment takes it"}
                            emails: {type: array, items: {type: string}}
                            lead_ids: {type: array, items: {type: string}}
                            all: {type: boolean, const: true}
                            at: {type: string, format: date-time}
                            dry_run: {type: boolean}
                          oneOf:
                            - required: [segment]
                            - required: [emails]
                            - required: [lead_ids]
                            - required: [all]
                  responses:
                    "200":
                      description: What was done (or, with dry_run, would be)
                      content:
                        application/json:
                          schema:
                            type: object
                            required: [campaign, dry_run, considered, enrolled, not_again, in_exclusive, suppressed, without_consent, unknown]
                            properties:
                              campaign: {type: string}
                              dry_run: {type: boolean}
                              considered: {type: integer}
                              enrolled: {type: integer}
                              not_again: {type: integer}
                              in_exclusive: {type: integer}
                              suppressed: {type: integer}
                              without_consent: {type: integer}
                              unknown: {type: integer}
                    "400": {$ref: "#/components/responses/BadRequest"}
                    "401": {$ref: "#/components/responses/Unauthorized"}
                    "404": {$ref: "#/components/responses/NotFound"}
                    "413": {$ref: "#/components/responses/TooLarge"}
                    "503": {$ref: "#/components/responses/Busy"}
              /v1/stats:
                get:
                  summary: How each campaign did, from the counters kept as facts are written (what nurture stats --format json prints)
                  security: [{apiKey: []}]
                  parameters:
                    - {name: campaign, in: query, schema: {type: string, enum: \#(list(playbook.campaigns.map(\.id)))}}
                    - {name: since, in: query, description: First UTC day counted, schema: {type: string, pattern: \#(quoted(dayPattern))}}
                    - {name: until, in: query, description: Last UTC day counted, schema: {type: string, pattern: \#(quoted(dayPattern))}}
                  responses:
                    "200":
                      description: The campaigns' results
                      content: {application/json: {schema: {type: object, required: [campaigns], properties: {campaigns: {type: array, items: {$ref: "#/components/schemas/CampaignStats"}}}}}}
                    "400": {$ref: "#/components/responses/BadRequest"}
                    "401": {$ref: "#/components/responses/Unauthorized"}
                    "503": {$ref: "#/components/responses/Busy"}
              /v1/campaigns/{campaign}/stats:
                get:
                  summary: One campaign's results
                  security: [{apiKey: []}]
                  parameters:
                    - {name: campaign, in: path, required: true, schema: {type: string, minLength: 1}}
                    - {name: since, in: query, description: First UTC day counted, schema: {type: string, pattern: \#(quoted(dayPattern))}}
                    - {name: until, in: query, description: Last UTC day counted, schema: {type: string, pattern: \#(quoted(dayPattern))}}
                  responses:
                    "200":
                      description: The campaign's results
                      content: {application/json: {schema: {type: object, required: [campaigns], properties: {campaigns: {type: array, items: {$ref: "#/components/schemas/CampaignStats"}}}}}}
                    "400": {$ref: "#/components/responses/BadRequest"}
                    "401": {$ref: "#/components/responses/Unauthorized"}
                    "404": {$ref: "#/components/responses/NotFound"}
                    "503": {$ref: "#/components/responses/Busy"}
              /v1/campaigns/{campaign}/pause:
                post:
                  summary: Stop sending from a campaign; its leads keep their place until it is resumed
                  security: [{apiKey: []}]
                  parameters:
                    - {name: campaign, in: path, required: true, schema: {type: string, minLength: 1}}
                  requestBody:
                    content: {application/json: {schema: {type: object, properties: {reason: {type: [string, "null"], pattern: '^[^\x00-\x1F\x7F]*$'}}}}}
                  responses:
                    "200": {description: Paused (changed is false when it already was), content: {application/json: {schema: {$ref: "#/components/schemas/ControlAnswer"}}}}
                    "400": {$ref: "#/components/responses/BadRequest"}
                    "401": {$ref: "#/components/responses/Unauthorized"}
                    "404": {$ref: "#/components/responses/NotFound"}
                    "413": {$ref: "#/components/responses/TooLarge"}
                    "503": {$ref: "#/components/responses/Busy"}
              /v1/campaigns/{campaign}/resume:
                post:
                  summary: Send from a paused campaign again; what waited is due at once
                  security: [{apiKey: []}]
                  parameters:
                    - {name: campaign, in: path, required: true, schema: {type: string, minLength: 1}}
                  responses:
                    "200": {description: Resumed (changed is false when it was not paused), content: {application/json: {schema: {$ref: "#/components/schemas/ControlAnswer"}}}}
                    "401": {$ref: "#/components/responses/Unauthorized"}
                    "404": {$ref: "#/components/responses/NotFound"}
                    "503": {$ref: "#/components/responses/Busy"}
              /v1/campaigns/{campaign}/experiments/{step}/decide:
                post:
                  summary: Settle an A/B split on one variant by hand; leads reaching the step from then on get only it
                  security: [{apiKey: []}]
                  parameters:
                    - {name: campaign, in: path, required: true, schema: {type: string, minLength: 1}}
                    - {name: step, in: path, required: true, schema: {type: string, minLength: 1}}
                  requestBody:
                    required: true
                    content: {application/json: {schema: {type: object, required: [variant], properties: {variant: {type: string}}}}}
                  responses:
                    "200": {description: Decided, content: {application/json: {schema: {type: object, required: [campaign, step, variant], properties: {campaign: {type: string}, step: {type: string}, variant: {type: string}}}}}}
                    "400": {$ref: "#/components/responses/BadRequest"}
                    "401": {$ref: "#/components/responses/Unauthorized"}
                    "404": {$ref: "#/components/responses/NotFound"}
                    "409": {description: The split was decided before; a decision stands, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
                    "413": {$ref: "#/components/responses/TooLarge"}
                    "503": {$ref: "#/components/responses/Busy"}
              /v1/inbound/email:
                post:
                  summary: Delivery reports from the email provider
                  description: "delivered, bounced (hard suppresses at once; three soft within 30 days too) and complained (suppresses)."
                  security: [{standardWebhooks: []}]
                  requestBody:
                    required: true
                    content:
                      application/json:
                        schema:
                          type: object
                          required: [type]
                          properties:
                            type: {type: string, enum: [delivered, bounced, complained]}
                            message_id: {type: string, pattern: '^[^\x00-\x1F\x7F]*$', description: The id Nurture sent the message under}
                            email: {type: string, description: Needed without message_id}
                            bounce: {type: string, enum: [hard, soft], default: hard}
                            reason: {type: string}
                            at: {type: string, format: date-time}
                  responses:
                    "200": {description: Applied (or a replay acknowledged), content: {application/json: {schema: {$ref: "#/components/schemas/InboundAnswer"}}}}
                    "400": {$ref: "#/components/responses/BadRequest"}
                    "401": {$ref: "#/components/responses/Unauthorized"}
                    "413": {$ref: "#/components/responses/TooLarge"}
                    "503": {$ref: "#/components/responses/Busy"}
              /v1/inbound/sms:
                post:
                  summary: Delivery receipts and replies from the SMS provider
                  description: >
                    Replies STOP, STOPALL, UNSUBSCRIBE, CANCEL, END or QUIT suppress the number at once
                    and get one confirmation; START or UNSTOP resubscribe; HELP gets the configured reply.
                  security: [{standardWebhooks: []}]
                  requestBody:
                    required: true
                    content:
                      application/json:
                        schema:
                          type: object
                          required: [type]
                          properties:
                            type: {type: string, enum: [delivered, failed, received]}
                            message_id: {type: string, pattern: '^[^\x00-\x1F\x7F]*$'}
                            from: {type: string, description: The sender's number (received)}
                            body: {type: string, description: The reply's text (received)}
                            reason: {type: string}
                            at: {type: string, format: date-time}
                  responses:
                    "200": {description: Applied (or a replay acknowledged), content: {application/json: {schema: {$ref: "#/components/schemas/InboundAnswer"}}}}
                    "400": {$ref: "#/components/responses/BadRequest"}
                    "401": {$ref: "#/components/responses/Unauthorized"}
                    "413": {$ref: "#/components/responses/TooLarge"}
                    "503": {$ref: "#/components/responses/Busy"}
            \#(providerInboundPaths)
              /t/o/{token}:
                get:
                  summary: Open pixel; records the first open of a message
                  parameters:
                    - {name: token, in: path, required: true, schema: {type: string, minLength: 1}}
                  responses:
                    "200": {description: A 1x1 transparent GIF, content: {image/gif: {}}}
                    "404": {$ref: "#/components/responses/NotFound"}
              /t/c/{token}:
                get:
                  summary: Tracked link; records the click and redirects to the URL sealed in the token
                  parameters:
                    - {name: token, in: path, required: true, schema: {type: string, minLength: 1}}
                  responses:
                    "302": {description: To the link's own target, headers: {Location: {schema: {type: string}}}}
                    "404": {$ref: "#/components/responses/NotFound"}
              /u/{token}:
                get:
                  summary: Unsubscribe confirmation page (a GET never unsubscribes)
                  parameters:
                    - {name: token, in: path, required: true, schema: {type: string, minLength: 1}}
                  responses:
                    "200": {description: A page with one button, content: {text/html: {}}}
                    "404": {$ref: "#/components/responses/NotFound"}
                post:
                  summary: One-click unsubscribe (RFC 8058), effective when it answers
                  parameters:
                    - {name: token, in: path, required: true, schema: {type: string, minLength: 1}}
                  requestBody:
                    content:
                      application/x-www-form-urlencoded:
                        schema: {type: object, properties: {List-Unsubscribe: {type: string, enum: [One-Click]}}}
                  responses:
                    "200": {description: Unsubscribed, content: {text/html: {}}}
                    "404": {$ref: "#/components/responses/NotFound"}
              /p/{token}:
                get:
                  summary: The person's preferences page - what they get by kind (a GET changes nothing)
                  parameters:
                    - {name: token, in: path, required: true, schema: {type: string, minLength: 1}}
                  responses:
                    "200": {description: The page, content: {text/html: {}}}
                    "404": {$ref: "#/components/responses/NotFound"}
                post:
                  summary: The person's own choice - receive these kinds, unsubscribe from all marketing, or resubscribe
                  parameters:
                    - {name: token, in: path, required: true, schema: {type: string, minLength: 1}}
                  requestBody:
                    content:
                      application/x-www-form-urlencoded:
                        schema: {type: object, properties: {action: {type: string, enum: [save, unsubscribe, resubscribe]}, kind: {type: string}}}
                  responses:
                    "200": {description: Saved, content: {text/html: {}}}
                    "404": {$ref: "#/components/responses/NotFound"}
              /s/{token}:
                get:
                  summary: A survey answer link - shows the answer it stands for (a GET records nothing)
                  parameters:
                    - {name: token, in: path, required: true, schema: {type: string, minLength: 1}}
                  responses:
                    "200": {description: The page, content: {text/html: {}}}
                    "404": {$ref: "#/components/responses/NotFound"}
                post:
                  summary: The person's answer, recorded once per survey email
                  parameters:
                    - {name: token, in: path, required: true, schema: {type: string, minLength: 1}}
                  requestBody:
                    content:
                      application/x-www-form-urlencoded:
                        schema: {type: object, properties: {comment: {type: string, maxLength: 2000}}}
                  responses:
                    "200": {description: Thanked, content: {text/html: {}}}
                    "404": {$ref: "#/components/responses/NotFound"}
              /healthz:
                get:
                  summary: Database reachable and worker going round
                  responses:
                    "200": {description: Healthy, content: {application/json: {schema: {$ref: "#/components/schemas/Health"}}}}
                    "503": {description: Unhealthy, content: {application/json: {schema: {$ref: "#/components/schemas/Health"}}}}
              /metrics:
                get:
                  summary: Prometheus metrics
                  responses:
                    "200": {description: Text exposition format, content: {text/plain: {}}}
              /openapi.yaml:
                get:
                  summary: This document
                  responses:
                    "200": {description: OpenAPI 3.1, content: {application/yaml: {}}}
            """#
    }
}
