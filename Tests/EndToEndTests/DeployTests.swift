import Foundation
import NurtureDeployment
import NurtureDSL
import NurtureSQLite
import NurtureStorage
import Testing

/// The deploy loop through the real binary: the database records the playbook it runs, `plan`
/// compares a build with it (exit 2 when leads would move), workers refuse what needs a review,
/// `deploy` applies it, and two playbooks never run side by side.
struct DeployTests {
    /// The playbook deployed before this build: the welcome's first email was `welcome-0`, and a
    /// `retired` campaign (gone from the build) still holds a lead.
    static func earlierDeployment(of current: PlaybookDeployment) -> PlaybookDeployment {
        var shape = current.shape
        let welcome = shape.campaigns.firstIndex { $0.id == "welcome" }!
        shape.campaigns[welcome].steps[0].id = "welcome-0"
        shape.campaigns[welcome].steps[0].details["template"] = "welcome-0"
        shape.campaigns.append(PlaybookShape.CampaignShape(id: "retired", name: "Retired", kind: "engagement", steps: [
            PlaybookShape.StepShape(id: "advocate-1-thanks", kind: "email", details: ["template": "advocate-1-thanks"]),
            PlaybookShape.StepShape(id: "wait-1", kind: "wait", details: ["wait": "30d"]),
        ]))
        return PlaybookDeployment(shape: shape, at: current.at.addingTimeInterval(-86_400), by: "an earlier build")
    }

    @Test func planShowsTheMovesWorkersRefuseThemAndDeployAppliesThem() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-deploy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = folder.appendingPathComponent("n.sqlite").path
        let csv = folder.appendingPathComponent("leads.csv")
        try "email,first_name,timezone\nana@example.com,Ana,Europe/Lisbon\nben@example.com,Ben,Europe/London\n".write(to: csv, atomically: true, encoding: .utf8)

        // The first command on a new database records the build it runs.
        let imported = try await NurtureBinary.run(["leads", "import", csv.path, "--database", database])
        #expect(imported.status == 0, "\(imported.stderr)")
        let store = try SQLiteStore(path: database)
        let built = try #require(try await store.currentDeployment())

        // Make the database look as an earlier build left it: leads on welcome-0, one lead in `retired`.
        let earlier = Self.earlierDeployment(of: built)
        #expect(try await store.recordDeployment(earlier, replacing: built.fingerprint, moves: [
            StepMove(campaignID: "welcome", stepID: "welcome-1", action: .rename(to: "welcome-0")),
        ]))
        let ana = try #require(try await store.lead(email: "ana@example.com"))
        let snapshot = try #require(try await store.snapshots([.id(ana.id)], window: HistoryWindow(eventsSince: .distantPast, sendsSince: .distantPast))[.id(ana.id)])
        var retired = Enrollment(leadID: ana.id, campaignID: "retired", firstStep: "wait-1", enrolledAt: built.at)
        retired.phase = .waiting
        retired.wakeAt = built.at.addingTimeInterval(30 * 86_400)
        let change = LeadChange(base: .version(snapshot.version), lead: snapshot.lead, scoring: snapshot.scoring, leadChanged: false, enrollments: [retired])
        #expect(try await store.commit([change], rotationAdvance: 0, now: built.at) == [.committed])

        // validate points at the renamed step; plan lists both groups and exits 2.
        let validated = try await NurtureBinary.run(["validate", "--database", database])
        #expect(validated.status == 0, "\(validated.stderr)")
        #expect(validated.stderr.contains("Campaigns/Welcome.swift:"), "\(validated.stderr)")
        #expect(validated.stderr.contains("warning: step 'welcome-1' was 'welcome-0' in the deployed playbook, where 2 leads are"), "\(validated.stderr)")
        #expect(validated.stderr.contains("moves 1 lead off step 'wait-1' of campaign 'retired'"), "\(validated.stderr)")
        let plan = try await NurtureBinary.run(["plan", "--database", database])
        #expect(plan.status == 2, "\(plan.stdout)\(plan.stderr)")
        #expect(plan.stdout.contains("~ welcome-0"), "\(plan.stdout)")
        #expect(plan.stdout.contains("id welcome-0 → welcome-1; template welcome-0 → welcome-1"), "\(plan.stdout)")
        #expect(plan.stdout.contains("2 leads due: stay (renamed)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("retired: removed; 1 lead in it exit (campaign retired removed from the playbook)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("1 lead moved or dropped"), "\(plan.stdout)")

        // A worker (here run-due) will not move them on its own.
        let refused = try await NurtureBinary.run(["run-due", "--database", database])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("this build moves or drops 1 lead in flight on this database; see where with `nurture plan`, then apply it with `nurture deploy`"),
                "\(refused.stderr)")

        // While a worker of the earlier build is alive, nothing else may take over.
        let other = PlaybookProcess(id: "old-worker", fingerprint: earlier.fingerprint, role: "worker", host: "mail-1", pid: 4711,
                                    startedAt: Date(), seenAt: Date())
        try await store.announce(other)
        let blocked = try await NurtureBinary.run(["deploy", "--database", database])
        #expect(blocked.status == 1)
        #expect(blocked.stderr.contains("worker on mail-1 (pid 4711) runs playbook \(earlier.fingerprint.prefix(12))"), "\(blocked.stderr)")
        #expect(blocked.stderr.contains("two playbooks must not run side by side"), "\(blocked.stderr)")
        let planWhileRunning = try await NurtureBinary.run(["plan", "--database", database])
        #expect(planWhileRunning.stdout.contains("Running now with playbook \(earlier.fingerprint.prefix(12)): worker on mail-1 (pid 4711)"), "\(planWhileRunning.stdout)")
        try await store.withdraw(processID: "old-worker")

        let deployed = try await NurtureBinary.run(["deploy", "--database", database])
        #expect(deployed.status == 0, "\(deployed.stderr)")
        #expect(deployed.stdout.contains("Deployed playbook \(built.fingerprint.prefix(12))"), "\(deployed.stdout)")
        let again = try await NurtureBinary.run(["plan", "--database", database])
        #expect(again.status == 0)
        #expect(again.stdout.contains("is the one deployed"), "\(again.stdout)")

        // The leads went where the plan said: both still get welcome-1, once; Ana left `retired`.
        let ran = try await NurtureBinary.run(["run-due", "--database", database])
        #expect(ran.status == 0, "\(ran.stderr)")
        #expect(ran.stdout.contains("queued 2 messages"), "\(ran.stdout)")
        let after = try #require(try await store.snapshots([.id(ana.id)], window: HistoryWindow(eventsSince: .distantPast, sendsSince: .distantPast))[.id(ana.id)])
        #expect(after.enrollments.first { $0.campaignID == "retired" }?.endReason == "campaign retired removed from the playbook")
        #expect(try await store.latestMessages(leadID: ana.id, limit: 10).map(\.stepID) == ["welcome-1"])
        // run-due announced itself while it ran, and withdrew.
        #expect(try await store.processes().isEmpty)
    }

    @Test func aDatabaseFromBeforeDeploymentsHasItsStepIDsRenamedOnFirstStart() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nurture-legacy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = folder.appendingPathComponent("n.sqlite").path
        // A lead waiting in the welcome's first wait, stored under its old content-derived id,
        // with no deployment recorded: what a database from before looks like.
        let store = try SQLiteStore(path: database)
        let t0 = Date().addingTimeInterval(-3_600)
        var lead = Lead(id: "lead_ana", email: "ana@example.com", firstName: "Ana", timeZone: "Europe/Lisbon")
        lead.emailConsent = true
        var waiting = Enrollment(leadID: lead.id, campaignID: "welcome", firstStep: "wait-2d", enrolledAt: t0)
        waiting.phase = .waiting
        waiting.wakeAt = t0.addingTimeInterval(2 * 86_400)
        let change = LeadChange(base: .new, lead: lead, scoring: ScoreSnapshot(), leadChanged: true, enrollments: [waiting])
        #expect(try await store.commit([change], rotationAdvance: 0, now: t0) == [.committed])

        let plan = try await NurtureBinary.run(["plan", "--database", database])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("Nothing is deployed on this database yet"), "\(plan.stdout)")
        #expect(plan.stdout.contains("welcome: wait-2d → wait-1 (1 lead)"), "\(plan.stdout)")
        let ran = try await NurtureBinary.run(["run-due", "--database", database])
        #expect(ran.status == 0, "\(ran.stderr)")
        let after = try #require(try await store.snapshots([.id("lead_ana")], window: HistoryWindow(eventsSince: .distantPast, sendsSince: .distantPast))[.id("lead_ana")])
        let welcome = try #require(after.enrollments.first { $0.campaignID == "welcome" })
        // Still waiting on the same wait, same wake time: not exited as a step that no longer exists.
        #expect(welcome.isActive)
        #expect(welcome.stepID == "wait-1")
        #expect(welcome.phase == .waiting)
        #expect(abs((welcome.wakeAt ?? .distantPast).timeIntervalSince(t0.addingTimeInterval(2 * 86_400))) < 0.001)
    }
}
