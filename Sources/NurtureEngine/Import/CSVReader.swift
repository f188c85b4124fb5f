import Foundation

/// Reads RFC 4180 CSV as a stream of records, a chunk at a time, so memory stays flat whatever
/// the file size. Handles quoted fields with commas, quotes (`""`) and newlines, a UTF-8 BOM,
/// and CR, LF or CRLF record ends outside quotes (RFC 4180 says CRLF; classic Mac exports and
/// some spreadsheet tools write a bare CR, and files mix them).
public final class CSVReader {
    public struct Record: Sendable, Hashable {
        public var fields: [String]
        /// The physical line the record starts on (1-based), for error messages.
        public var line: Int
    }

    public struct MalformedInput: Error, CustomStringConvertible {
        public let line: Int
        public let reason: String
        public var description: String { line > 0 ? "line \(line): \(reason)" : reason }
    }

    /// A quote that opens a field and never closes swallows the rest of the file, so nothing
    /// after it can be read as rows.
    public struct UnclosedQuote: Error, CustomStringConvertible {
        public let line: Int
        public var description: String { "line \(line): a quoted field opened on this line is never closed" }
    }

    let handle: FileHandle
    let chunkSize: Int
    var parser = Parser()
    /// The records parsed from the current chunk: at most one chunk's worth is ever held.
    var queue: [Record] = []
    var queueIndex = 0
    var isFirstChunk = true
    var isFinished = false
    /// Bytes of the file read so far (a chunk ahead of the records handed out): how far an
    /// import is, against the file's size.
    public private(set) var bytesRead = 0

    public init(path: String, chunkSize: Int = 1 << 20) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw MalformedInput(line: 0, reason: "cannot open \(path)")
        }
        self.handle = handle
        self.chunkSize = chunkSize
    }

    deinit { try? handle.close() }

    /// The next record, or nil at the end of the file.
    public func next() throws -> Record? {
        while queueIndex >= queue.count {
            if isFinished { return nil }
            queue.removeAll(keepingCapacity: true)
            queueIndex = 0
            guard let chunk = try handle.read(upToCount: chunkSize), !chunk.isEmpty else {
                try parser.finish { queue.append($0) }
                isFinished = true
                continue
            }
            bytesRead += chunk.count
            var bytes = chunk[...]
            if isFirstChunk {
                isFirstChunk = false
                if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
            }
            try parser.feed(bytes) { queue.append($0) }
        }
        defer { queueIndex += 1 }
        return queue[queueIndex]
    }

    /// A byte-level state machine; fields are decoded to strings only once complete.
    struct Parser {
        var field: [UInt8] = []
        var fields: [String] = []
        var inQuotes = false
        var quoteSeenInQuotes = false
        var line = 1
        var recordLine = 1
        var fieldStarted = false
        /// A CR was the last byte: an LF right after it ends nothing more (CRLF is one line end).
        var afterCR = false
        var quoteLine = 1

        mutating func feed(_ bytes: Data.SubSequence, emit: (Record) throws -> Void) throws {
            for byte in bytes {
                let wasAfterCR = afterCR
                afterCR = byte == UInt8(ascii: "\r")
                if inQuotes {
                    if quoteSeenInQuotes {
                        quoteSeenInQuotes = false
                        if byte == UInt8(ascii: "\"") {
                            field.append(byte)
                            continue
                        }
                        inQuotes = false
                        // Falls through: the closing quote is followed by a delimiter or a line end.
                    } else if byte == UInt8(ascii: "\"") {
                        quoteSeenInQuotes = true
                        continue
                    } else {
                        if byte == UInt8(ascii: "\r") || (byte == UInt8(ascii: "\n") && !wasAfterCR) { line += 1 }
                        field.append(byte)
                        continue
                    }
                }
                switch byte {
                case UInt8(ascii: ","):
                    endField()
                case UInt8(ascii: "\n") where wasAfterCR:
                    continue
                case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                    try endRecord(emit)
                    line += 1
                    recordLine = line
                case UInt8(ascii: "\""):
                    if field.isEmpty && !fieldStarted {
                        inQuotes = true
                        quoteLine = line
                        fieldStarted = true
                    } else {
                        // A stray quote inside an unquoted field is kept as data, as spreadsheets do.
                        field.append(byte)
                    }
                default:
                    field.append(byte)
                    fieldStarted = true
                }
            }
        }

        mutating func finish(_ emit: (Record) throws -> Void) throws {
            if inQuotes && !quoteSeenInQuotes {
                throw UnclosedQuote(line: quoteLine)
            }
            inQuotes = false
            if !field.isEmpty || !fields.isEmpty || fieldStarted { try endRecord(emit) }
        }

        private mutating func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            fieldStarted = false
        }

        private mutating func endRecord(_ emit: (Record) throws -> Void) throws {
            endField()
            let record = Record(fields: fields, line: recordLine)
            fields.removeAll(keepingCapacity: true)
            // Blank lines are not records.
            if !(record.fields.count == 1 && record.fields[0].isEmpty) { try emit(record) }
        }
    }
}

/// Writes CSV with RFC 4180 quoting, neutralising cells a spreadsheet would run as a formula.
public struct CSVWriter {
    let handle: FileHandle
    let defusesFormulas: Bool

    /// `defusesFormulas` is for files people open in spreadsheets (rejects, exports); data
    /// meant for another program is written as it is.
    public init(path: String, defusesFormulas: Bool = true) throws {
        self.defusesFormulas = defusesFormulas
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw CSVReader.MalformedInput(line: 0, reason: "cannot write \(path)")
        }
        self.handle = handle
    }

    public func write(_ fields: [String]) throws {
        let cells = fields.map { defusesFormulas ? Self.cell($0) : Self.quoted($0) }
        try handle.write(contentsOf: Data((cells.joined(separator: ",") + "\r\n").utf8))
    }

    public func close() throws { try handle.close() }

    /// `=SUM(A1)` becomes `'=SUM(A1)`, and anything with a comma, quote or newline is quoted.
    public static func cell(_ value: String) -> String {
        var text = value
        if let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { text = "'" + text }
        return quoted(text)
    }

    /// RFC 4180 quoting only.
    public static func quoted(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
