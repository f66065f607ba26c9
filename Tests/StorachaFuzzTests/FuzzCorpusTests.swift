import Foundation
import StorachaFuzz
import Testing
import TestSupport

/// Every fuzz target's seeds, kept corpus (`Fuzz/corpus/TARGET`) and regression inputs (`Fuzz/regressions/TARGET`,
/// the inputs of crashes and findings once fixed) run here, so that a fixed bug stays fixed without the fuzzer.
@Suite struct FuzzCorpusTests {
    static let vectors = URL(fileURLWithPath: "../shared/vectors")

    static func inputs(_ folder: String, _ target: String) -> [(String, [UInt8])] {
        let dir = URL(fileURLWithPath: "Fuzz/\(folder)/\(target)")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
        return names.compactMap { name in
            (try? Data(contentsOf: dir.appendingPathComponent(name))).map { ("\(folder)/\(target)/\(name)", [UInt8]($0)) }
        }
    }

    @Test(arguments: FuzzTargets.all.map(\.name))
    func keptInputsPass(target name: String) async throws {
        let target = try #require(FuzzTargets.named(name))
        let seeds = try FuzzSeeds.seeds(for: name, vectors: FuzzCorpusTests.vectors)
        #expect(!seeds.isEmpty, "\(name) has no seeds")
        let kept = FuzzCorpusTests.inputs("corpus", name) + FuzzCorpusTests.inputs("regressions", name)
        let inputs = seeds.enumerated().map({ ("seed \($0)", $1) }) + kept
        // On a thread of its own: a target may block its thread on async work, as the fuzzer's entry point does.
        let findings = try await offPool { inputs.compactMap { label, input in target.run(input).map { "\(label): \($0)" } } }
        #expect(findings.isEmpty, "\(findings)")
    }
}
