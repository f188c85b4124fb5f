import ArgumentParser
import Foundation
import NurtureEngine

struct LeadsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "leads", abstract: "Import, rank, inspect and mark leads.",
        subcommands: [Import.self, Top.self, Show.self, Mark.self, Enroll.self, Export.self, Forget.self, Requests.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import leads from CSV: upsert by email, report rejected rows with line and reason.",
            discussion: """
                Known columns: email (required), phone, first_name, last_name, company, job_title, industry,
                company_size, country, timezone, source, email_consent, sms_consent. Any other column becomes
                an attribute. A row is rejected only for its email; a bad phone, size, zone, flag or typed
                attribute is left out with a warning at FILE:LINE:COLUMN. A phone without a country code takes
                the row's country, else its time zone's, else --default-country. Rejected rows are written to
                FILE.rejects.csv with their line and reason.
                """)

        @OptionGroup var runtime: RuntimeOptions
        @Argument(help: "The CSV file.") var file: String
        @Option(help: "Lead source for rows without a source column (referral, website, webinar, …).") var source: String?
        @Option(name: .customLong("default-country"), help: "ISO country for phone numbers without a +country code (e.g. GB).")
        var defaultCountry: String?
        @Option(help: "Where to write rejected rows. Default: FILE.rejects.csv.") var rejects: String?
        @Flag(help: "On a non-terminal (cron, CI, a pipe), print progress once a minute.") var progress = false

        func run() async throws {
            let live = try await runtime.makeRuntime()
            let rejectsPath = rejects ?? (file.hasSuffix(".csv") ? String(file.dropLast(4)) : file) + ".rejects.csv"
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int).flatMap { $0 }
            let line = ProgressLine(noun: "rows", total: size.map(Double.init), unit: ProgressLine.bytes, forced: progress)
            let report: LeadImporter.Report
            var stopped: LeadImporter.StoppedEarly?
            do {
                report = try await LeadImporter(engine: live.engine).run(
                    path: file, source: source, defaultCountry: defaultCountry, rejectsPath: rejectsPath, now: Date()
                ) { rows, bytes in
                    line.update(done: Double(bytes), items: rows)
                }
            } catch let early as LeadImporter.StoppedEarly {
                report = early.report
                stopped = early
            } catch {
                printError("error: \(file): \(error)")
                throw ExitCode.failure
            }
            line.finish()
            for (line, column, reason) in report.warnings.prefix(50) { printError("\(file):\(line):\(column): warning: \(reason)") }
            if report.warnings.count > 50 { printError("… and more fields left out, on \(report.warned) rows in all") }
            for (line, reason) in report.rejected.prefix(50) { printError("\(file):\(line): rejected: \(reason)") }
            if report.rejectedCount > 50 { printError("… and \(report.rejectedCount - 50) more rejected rows") }
            if report.rejectedCount == 0 {
                try? FileManager.default.removeItem(atPath: rejectsPath)
            }
            let summary = "imported \(report.imported), updated \(report.updated), unchanged \(report.unchanged), "
                + "with warnings \(report.warned), rejected \(report.rejectedCount)"
                + (report.rejectedCount == 0 ? "" : " (written to \(rejectsPath))")
                + (report.zonesGuessed == 0 ? "" : "; time zone guessed for \(report.zonesGuessed) (countries with several zones: "
                    + "add a timezone column, or see `nurture leads show`)")
            if let stopped {
                printError("""
                    error: \(file):\(stopped.line): \(stopped.reason), so the rest of the file, from line \(stopped.line) on, was not read.
                    The \(report.rows) rows before it were read and committed: \(summary).
                    Fix the quote and import the file again: rows already imported match by email and are updated, not duplicated.
                    """)
                throw ExitCode.failure
            }
            let stored = report.imported + report.updated + report.unchanged
            if stored == 0 {
                // Nothing stored must never look like success, whether the file had no rows or only bad ones.
                printError(report.rejectedCount == 0
                    ? "error: \(file): no data rows after the header line; nothing was imported"
                    : "error: \(file): no row was imported: all \(report.rejectedCount) rows were rejected (\(rejectsPath))")
                print(summary)
                throw ExitCode.failure
            }
            print(summary)
        }
    }
}
