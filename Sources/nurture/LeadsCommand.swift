import ArgumentParser
import Foundation
import NurtureEngine

struct LeadsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "leads", abstract: "Import, rank, inspect and mark leads.",
        subcommands: [Import.self, Top.self, Show.self, Mark.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import leads from CSV: upsert by email, report rejected rows with line and reason.",
            discussion: """
                Known columns: email (required), phone, first_name, last_name, company, job_title, industry,
                company_size, country, timezone, source, email_consent, sms_consent. Any other column becomes
                an attribute. Rejected rows are written to FILE.rejects.csv with their line and reason.
                """)

        @OptionGroup var runtime: RuntimeOptions
        @Argument(help: "The CSV file.") var file: String
        @Option(help: "Lead source for rows without a source column (referral, website, webinar, …).") var source: String?
        @Option(name: .customLong("default-country"), help: "ISO country for phone numbers without a +country code (e.g. GB).")
        var defaultCountry: String?
        @Option(help: "Where to write rejected rows. Default: FILE.rejects.csv.") var rejects: String?

        func run() async throws {
            let live = try await runtime.makeRuntime()
            let rejectsPath = rejects ?? (file.hasSuffix(".csv") ? String(file.dropLast(4)) : file) + ".rejects.csv"
            let onTerminal = isatty(STDERR_FILENO) == 1
            let report: LeadImporter.Report
            do {
                report = try await LeadImporter(engine: live.engine).run(
                    path: file, source: source, defaultCountry: defaultCountry, rejectsPath: rejectsPath, now: Date()
                ) { rows in
                    if onTerminal { FileHandle.standardError.write(Data("\r\(rows) rows…".utf8)) }
                }
            } catch {
                printError("error: \(file): \(error)")
                throw ExitCode.failure
            }
            if onTerminal { FileHandle.standardError.write(Data("\r".utf8)) }
            for (line, reason) in report.rejected.prefix(50) { printError("\(file):\(line): rejected: \(reason)") }
            if report.rejectedCount > 50 { printError("… and \(report.rejectedCount - 50) more rejected rows") }
            if report.rejectedCount == 0 {
                try? FileManager.default.removeItem(atPath: rejectsPath)
            }
            print("imported \(report.imported), updated \(report.updated), unchanged \(report.unchanged), rejected \(report.rejectedCount)"
                + (report.rejectedCount == 0 ? "" : " (written to \(rejectsPath))"))
        }
    }
}
