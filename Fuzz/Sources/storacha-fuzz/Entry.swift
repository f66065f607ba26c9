import Foundation
import StorachaFuzz

/// The target `$FUZZ_TARGET` names (checked in `LLVMFuzzerInitialize`).
let selected: FuzzTarget? = ProcessInfo.processInfo.environment["FUZZ_TARGET"].flatMap(FuzzTargets.named)

/// Called by libFuzzer once before the first input.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> CInt {
    guard selected != nil else {
        let names = FuzzTargets.all.map { "  \($0.name): \($0.summary)" }.joined(separator: "\n")
        FileHandle.standardError.write(Data("set FUZZ_TARGET to one of:\n\(names)\n".utf8))
        exit(2)
    }
    FuzzTargets.prepare()
    // `Fuzz/run` seeds an empty corpus folder this way (from the project root, where ../shared/vectors is).
    if let folder = ProcessInfo.processInfo.environment["FUZZ_WRITE_SEEDS"], let target = selected {
        let seeds = (try? FuzzSeeds.seeds(for: target.name, vectors: URL(fileURLWithPath: "../shared/vectors"))) ?? []
        for (i, seed) in seeds.enumerated() {
            try? Data(seed).write(to: URL(fileURLWithPath: folder).appendingPathComponent(String(format: "seed-%03d", i)))
        }
        exit(0)
    }
    return 0
}

/// Called by libFuzzer for every input: a finding (a property that failed) stops the run as a crash would.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let target = selected else { return 0 }
    if let finding = target.run(Array(UnsafeBufferPointer(start: data, count: size))) {
        fatalError("\(target.name): \(finding)")
    }
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
               _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The entry SwiftPM links a debug executable through (it renames `main`): hands over to libFuzzer's driver.
@_cdecl("storacha_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return runDriver(&count, &arguments) { data, size in
        guard let data else { return 0 }
        return testOneInput(data, size)
    }
}
