import ArgumentParser
import Foundation
import NurtureDeployment
import NurtureEngine

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Compare this build's playbook with the one deployed on the database: steps added, removed and changed, and where the leads on them go.",
        discussion: """
            Exits 0 when deploying moves no lead, 2 when it moves leads off their steps or out of their
            campaigns (so a deploy script can stop), 1 on an error. Apply a plan with `nurture deploy`.
            """)

    @OptionGroup var runtime: RuntimeOptions

    func run() async throws {
        let live = try await runtime.makeRuntime(takingOver: false)
        let plan = try await live.plan()
        print(plan.text)
        let others = try await live.store.processes().filter { $0.isLive(at: Date()) && $0.fingerprint != plan.fingerprint }
        for process in others {
            print("Running now with playbook \(process.fingerprint.prefix(12)): \(process.description); stop it before deploying.")
        }
        await live.close()
        if plan.leadsMoved > 0 { throw ExitCode(2) }
    }
}

struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Make this build the database's playbook, moving the leads in flight as `nurture plan` shows.",
        discussion: """
            Refused while a worker or server runs a different playbook on the database: stop them, deploy,
            then start the new build. Workers and servers deploy a build by themselves when it moves no lead.
            """)

    @OptionGroup var runtime: RuntimeOptions

    func run() async throws {
        let live = try await runtime.makeRuntime(takingOver: false)
        do {
            let plan = try await live.takeOver(as: "nurture deploy", movingLeads: true)
            print(plan.text)
            print(plan.isNoChange ? "Nothing deployed." : "Deployed playbook \(plan.fingerprint.prefix(12)).")
        } catch let refused as Deployment.PlaybookRefused {
            printError("error: \(refused)")
            await live.close()
            throw ExitCode.failure
        }
        await live.close()
    }
}
