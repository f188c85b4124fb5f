/// `/openapi.yaml`. A test checks that every route the router has is here and nothing else.
enum OpenAPIDocument {
    static let yaml = """
        openapi: 3.1.0
        info:
          title: Nurture
          version: "1"
          description: >
            Lead nurturing and drip campaigns. The /v1 API takes leads and events and answers with
            rankings and explanations; tracking, unsubscribe and inbound provider webhooks need no
            API key (they carry signed tokens or Standard Webhooks signatures instead).
        components:
          securitySchemes:
            apiKey:
              type: http
              scheme: bearer
              description: A key from NURTURE_API_KEYS.
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
                    code: {type: string, examples: [invalid_request, unauthorized, not_found, body_too_large]}
                    message: {type: string}
                    problems:
                      type: array
                      items:
                        type: object
                        properties:
                          path: {type: string, description: "JSON path into the body, such as $[3].email", examples: ["$[3].email"]}
                          message: {type: string}
            Lead:
              type: object
              required: [email]
              description: >
                The CSV import's columns as keys; other keys (or an "attributes" object) set attributes
                declared in the playbook. Upserted by email; absent keys keep stored values.
              properties:
                email: {type: string}
                phone: {type: string, description: "Normalised to E.164; country (ISO code) helps with national numbers"}
                first_name: {type: string}
                last_name: {type: string}
                company: {type: string}
                job_title: {type: string}
                industry: {type: string}
                company_size: {type: integer}
                country: {type: string}
                timezone: {type: string, description: IANA zone, such as Europe/Lisbon}
                source: {type: string}
                email_consent: {type: boolean}
                sms_consent: {type: boolean}
                attributes: {type: object, additionalProperties: {type: [string, number, boolean]}}
              additionalProperties: {type: [string, number, boolean, "null"]}
            LeadResult:
              type: object
              properties:
                index: {type: integer, description: Position in the request array (arrays only)}
                status: {type: string, enum: [imported, updated, unchanged, rejected]}
                id: {type: string}
                email: {type: string}
                errors: {type: array, items: {type: object, properties: {path: {type: string}, message: {type: string}}}}
            Event:
              type: object
              required: [type]
              properties:
                id: {type: string, description: "The sender's id; an id already stored is not stored again"}
                email: {type: string, description: Who did it (or lead_id)}
                lead_id: {type: string}
                type: {type: string, description: "Lowercase dotted name, such as page.viewed", examples: [page.viewed]}
                at: {type: string, format: date-time, description: Defaults to now; not in the future}
                properties: {type: object, additionalProperties: {type: [string, number, boolean, "null"]}}
                create: {type: boolean, default: true, description: Create an unknown email as a new lead}
            EventResult:
              type: object
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
            InboundAnswer:
              type: object
              properties:
                replayed: {type: boolean, description: "True when every item was seen before under this webhook-id: acknowledged, not applied again"}
                results: {type: array, items: {type: object, properties: {status: {type: string, enum: [stored, duplicate, suppressed, unknown_lead]}, lead_id: {type: string}}}}
          responses:
            BadRequest:
              description: Malformed JSON or invalid items; nothing was stored.
              content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
            Unauthorized:
              description: Missing or wrong credentials.
              content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
            TooLarge:
              description: The body or the batch is too large.
              content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
            NotFound:
              description: No such lead, or a link token that is not valid.
              content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
        paths:
          /v1/leads:
            post:
              summary: Upsert one lead or an array of leads by email
              description: Invalid items are rejected with their JSON paths; the valid ones are stored in one transaction.
              security: [{apiKey: []}]
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      oneOf:
                        - {$ref: "#/components/schemas/Lead"}
                        - {type: array, maxItems: 1000, items: {$ref: "#/components/schemas/Lead"}}
              responses:
                "200":
                  description: "A result per lead (an object for one lead, {results: [...]} for an array)"
                  content: {application/json: {schema: {oneOf: [{$ref: "#/components/schemas/LeadResult"}, {type: object, properties: {results: {type: array, items: {$ref: "#/components/schemas/LeadResult"}}}}]}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "413": {$ref: "#/components/responses/TooLarge"}
                "422": {description: Every lead was rejected, content: {application/json: {schema: {$ref: "#/components/schemas/LeadResult"}}}}
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
                        - {type: array, maxItems: 1000, items: {$ref: "#/components/schemas/Event"}}
              responses:
                "200":
                  description: "A result per event (an object for one event, {results: [...]} for an array)"
                  content: {application/json: {schema: {oneOf: [{$ref: "#/components/schemas/EventResult"}, {type: object, properties: {results: {type: array, items: {$ref: "#/components/schemas/EventResult"}}}}]}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "404": {description: "One event for an unknown lead with create: false", content: {application/json: {schema: {$ref: "#/components/schemas/EventResult"}}}}
                "413": {$ref: "#/components/responses/TooLarge"}
          /v1/leads/top:
            get:
              summary: The best prospects by score now, with their top reasons
              security: [{apiKey: []}]
              parameters:
                - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000, default: 25}}
                - {name: stage, in: query, schema: {type: string, enum: [subscriber, lead, mql, sql, opportunity, customer]}}
                - {name: segment, in: query, description: "NAME:VALUE (a lead field, tag, or declared attribute); repeatable", schema: {type: string}, examples: {industry: {value: "industry:SaaS"}}}
              responses:
                "200":
                  description: The ranking
                  content: {application/json: {schema: {type: object, properties: {at: {type: string, format: date-time}, leads: {type: array, items: {$ref: "#/components/schemas/RankedLead"}}}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
          /v1/leads/{lead}:
            get:
              summary: A lead with its score explained, enrollments and latest events and messages
              security: [{apiKey: []}]
              parameters:
                - {name: lead, in: path, required: true, description: Lead id or email, schema: {type: string}}
              responses:
                "200": {description: The lead, content: {application/json: {schema: {type: object}}}}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "404": {$ref: "#/components/responses/NotFound"}
          /v1/leads/{lead}/outcome:
            post:
              summary: Record sales' verdict on a lead (won makes it a customer)
              security: [{apiKey: []}]
              parameters:
                - {name: lead, in: path, required: true, description: Lead id or email, schema: {type: string}}
              requestBody:
                required: true
                content:
                  application/json:
                    schema:
                      type: object
                      required: [outcome]
                      properties:
                        outcome: {type: string, enum: [won, lost, bad-fit]}
                        note: {type: string}
                        by: {type: string}
              responses:
                "200": {description: Recorded, content: {application/json: {schema: {type: object, properties: {id: {type: string}, outcome: {type: string}}}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
                "404": {$ref: "#/components/responses/NotFound"}
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
                        message_id: {type: string, description: The id Nurture sent the message under}
                        email: {type: string, description: Needed without message_id}
                        bounce: {type: string, enum: [hard, soft], default: hard}
                        reason: {type: string}
                        at: {type: string, format: date-time}
              responses:
                "200": {description: Applied (or a replay acknowledged), content: {application/json: {schema: {$ref: "#/components/schemas/InboundAnswer"}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
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
                        message_id: {type: string}
                        from: {type: string, description: The sender's number (received)}
                        body: {type: string, description: The reply's text (received)}
                        reason: {type: string}
                        at: {type: string, format: date-time}
              responses:
                "200": {description: Applied (or a replay acknowledged), content: {application/json: {schema: {$ref: "#/components/schemas/InboundAnswer"}}}}
                "400": {$ref: "#/components/responses/BadRequest"}
                "401": {$ref: "#/components/responses/Unauthorized"}
          /t/o/{token}:
            get:
              summary: Open pixel; records the first open of a message
              parameters:
                - {name: token, in: path, required: true, schema: {type: string}}
              responses:
                "200": {description: A 1x1 transparent GIF, content: {image/gif: {}}}
                "404": {$ref: "#/components/responses/NotFound"}
          /t/c/{token}:
            get:
              summary: Tracked link; records the click and redirects to the URL sealed in the token
              parameters:
                - {name: token, in: path, required: true, schema: {type: string}}
              responses:
                "302": {description: To the link's own target, headers: {Location: {schema: {type: string}}}}
                "404": {$ref: "#/components/responses/NotFound"}
          /u/{token}:
            get:
              summary: Unsubscribe confirmation page (a GET never unsubscribes)
              parameters:
                - {name: token, in: path, required: true, schema: {type: string}}
              responses:
                "200": {description: A page with one button, content: {text/html: {}}}
                "404": {$ref: "#/components/responses/NotFound"}
            post:
              summary: One-click unsubscribe (RFC 8058), effective when it answers
              parameters:
                - {name: token, in: path, required: true, schema: {type: string}}
              requestBody:
                content:
                  application/x-www-form-urlencoded:
                    schema: {type: object, properties: {List-Unsubscribe: {type: string, enum: [One-Click]}}}
              responses:
                "200": {description: Unsubscribed, content: {text/html: {}}}
                "404": {$ref: "#/components/responses/NotFound"}
          /healthz:
            get:
              summary: Database reachable and worker going round
              responses:
                "200": {description: Healthy, content: {application/json: {schema: {type: object, properties: {status: {type: string}, database: {type: string}, worker: {type: string, enum: [ok, starting, stalled, disabled]}}}}}}
                "503": {description: Unhealthy}
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
        """
}
