import Foundation
import NurtureDSL
import NurtureStorage
import Testing

/// The flat reader must read back exactly what the store writes, and give way to JSONDecoder
/// for anything else.
struct FlatJSONTests {
    @Test func whatTheStoreWritesReadsBackExactly() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("aZ09 \"\\/\n\t\r\u{8}\u{C}\u{1}é€😀{}[]:,")
        for _ in 0..<500 {
            var values: [String: Value] = [:]
            for _ in 0..<Int.random(in: 0...6, using: &generator) {
                let key = String((0..<Int.random(in: 0...8, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
                switch Int.random(in: 0...2, using: &generator) {
                case 0: values[key] = .string(String((0..<Int.random(in: 0...20, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
                case 1: values[key] = .number([0, -1.5, 42, 1e21, 0.1, -0.000123].randomElement(using: &generator)!)
                default: values[key] = .bool(Bool.random(using: &generator))
                }
            }
            let text = FlatJSON.json(values)
            #expect(FlatJSON.object(text) == values, "\(text)")
            #expect(FlatJSON.object(text) == (try JSONDecoder().decode([String: Value].self, from: Data(text.utf8))))
            let strings = Array(values.keys)
            #expect(FlatJSON.strings(FlatJSON.json(strings)) == strings)
        }
    }

    @Test func anythingElseIsLeftToJSONDecoder() {
        for text in [#"{"a": {"b": 1}}"#, #"{"a": [1]}"#, #"{"a": 1"#, #"{"a": tru}"#, #"{"a": "\x"}"#, #"["a", 1]"#, #"{"a": 1} x"#] {
            #expect(FlatJSON.object(text) == nil && FlatJSON.strings(text) == nil, "\(text)")
        }
        #expect(FlatJSON.object(#" { "a" : null , "b" : "\u00e9\ud83d\ude00" } "#) == ["b": .string("é😀")])
    }

    /// A lead's fired thresholds as both stores keep them, read back by the ranking walk without
    /// a JSON decoder: what was written, exactly; JSON in another shape still reads.
    @Test func firedThresholdsReadBackAsWritten() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let fired = Set((0..<Int.random(in: 0...5, using: &generator)).map { _ in
                [60, 80, 100, 12.5, -3, 1e21, 0.1].randomElement(using: &generator)!
            })
            let state = ThresholdState(fired: fired)
            #expect(ThresholdState(stored: state.stored) == state, "\(state.stored)")
            #expect(Set(try JSONDecoder().decode([Double].self, from: Data(state.stored.utf8))) == fired)
        }
        #expect(ThresholdState(stored: "[ 60, 80.0 ]").fired == [60, 80])
        #expect(ThresholdState(stored: "not json").fired.isEmpty)
        #expect(ThresholdState(stored: "[60,x]").fired.isEmpty)
    }
}
