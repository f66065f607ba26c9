import Crypto
import Foundation

/// BIP-39 mnemonics (English), as `@scure/bip39` makes them: the space recovery phrase is the
/// mnemonic of the space key's 32-byte seed (24 words), and recovering derives the same key again.
public enum Mnemonic {
    /// The words for `entropy` (16, 20, 24, 28 or 32 bytes).
    public static func words(for entropy: [UInt8]) throws(MnemonicError) -> [String] {
        guard [16, 20, 24, 28, 32].contains(entropy.count) else { throw MnemonicError("entropy must be 16–32 bytes in steps of 4") }
        let checksumBits = entropy.count / 4
        let hash = Array(SHA256.hash(data: entropy))
        var bits: [Bool] = []
        bits.reserveCapacity(entropy.count * 8 + checksumBits)
        for byte in entropy { for i in (0..<8).reversed() { bits.append(byte >> UInt8(i) & 1 == 1) } }
        for i in 0..<checksumBits { bits.append(hash[i / 8] >> UInt8(7 - i % 8) & 1 == 1) }
        return stride(from: 0, to: bits.count, by: 11).map { start in
            let index = bits[start..<start + 11].reduce(0) { $0 << 1 | ($1 ? 1 : 0) }
            return String(BIP39Words.english[index])
        }
    }

    /// The phrase for `entropy`, words separated by single spaces.
    public static func phrase(for entropy: [UInt8]) throws(MnemonicError) -> String { try words(for: entropy).joined(separator: " ") }

    /// The entropy a phrase encodes; refuses unknown words, a wrong word count and a bad checksum.
    public static func entropy(of phrase: String) throws(MnemonicError) -> [UInt8] {
        let words = phrase.decomposedStringWithCompatibilityMapping.lowercased().split(whereSeparator: { $0.isWhitespace })
        guard [12, 15, 18, 21, 24].contains(words.count) else {
            throw MnemonicError("a recovery phrase has 12, 15, 18, 21 or 24 words, not \(words.count)")
        }
        var bits: [Bool] = []
        for (n, word) in words.enumerated() {
            guard let index = BIP39Words.index[Substring(word)] else { throw MnemonicError("word \(n + 1) (\(word)) is not a BIP-39 English word") }
            for i in (0..<11).reversed() { bits.append(index >> i & 1 == 1) }
        }
        let checksumBits = bits.count / 33
        let entropyBits = bits.count - checksumBits
        var entropy: [UInt8] = []
        for start in stride(from: 0, to: entropyBits, by: 8) {
            entropy.append(bits[start..<start + 8].reduce(UInt8(0)) { $0 << 1 | ($1 ? 1 : 0) })
        }
        let hash = Array(SHA256.hash(data: entropy))
        for i in 0..<checksumBits where bits[entropyBits + i] != (hash[i / 8] >> UInt8(7 - i % 8) & 1 == 1) {
            throw MnemonicError("the recovery phrase's checksum does not match: a word is wrong or out of order")
        }
        return entropy
    }
}

extension BIP39Words {
    static let index: [Substring: Int] = Dictionary(uniqueKeysWithValues: english.enumerated().map { ($1, $0) })
}

/// A recovery phrase that cannot be used, and why.
public struct MnemonicError: Error, CustomStringConvertible, Sendable {
    /// What is wrong.
    public let description: String
    init(_ description: String) { self.description = description }
}
