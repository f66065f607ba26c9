/// MurmurHash3 x64 128-bit (seed 0), as used for UnixFS HAMT keys (multicodec murmur3-x64-64).
public enum Murmur3 {
    /// The first 8 bytes (big-endian h1) of MurmurHash3_x64_128(`data`, seed 0).
    public static func x64_64(_ data: [UInt8]) -> [UInt8] {
        let (h1, _) = x64_128(data, seed: 0)
        return (0..<8).map { UInt8(truncatingIfNeeded: h1 >> UInt64(56 - 8 * $0)) }
    }

    /// MurmurHash3_x64_128; returns (h1, h2).
    public static func x64_128(_ data: [UInt8], seed: UInt32) -> (UInt64, UInt64) {
        let c1: UInt64 = 0x87c3_7b91_1142_53d5
        let c2: UInt64 = 0x4cf5_ad43_2745_937f
        var h1 = UInt64(seed)
        var h2 = UInt64(seed)
        let nblocks = data.count / 16
        func load(_ i: Int) -> UInt64 {
            var v: UInt64 = 0
            for j in 0..<8 { v |= UInt64(data[i + j]) << UInt64(8 * j) }
            return v
        }
        for i in 0..<nblocks {
            var k1 = load(i * 16)
            var k2 = load(i * 16 + 8)
            k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
            h1 = rotl(h1, 27); h1 &+= h2; h1 = h1 &* 5 &+ 0x52dc_e729
            k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
            h2 = rotl(h2, 31); h2 &+= h1; h2 = h2 &* 5 &+ 0x3849_5ab5
        }
        let tail = nblocks * 16
        let rem = data.count & 15
        var k1: UInt64 = 0
        var k2: UInt64 = 0
        if rem > 8 {
            for j in stride(from: rem - 1, through: 8, by: -1) { k2 ^= UInt64(data[tail + j]) << UInt64(8 * (j - 8)) }
            k2 &*= c2; k2 = rotl(k2, 33); k2 &*= c1; h2 ^= k2
        }
        if rem > 0 {
            for j in stride(from: min(rem, 8) - 1, through: 0, by: -1) { k1 ^= UInt64(data[tail + j]) << UInt64(8 * j) }
            k1 &*= c1; k1 = rotl(k1, 31); k1 &*= c2; h1 ^= k1
        }
        h1 ^= UInt64(data.count); h2 ^= UInt64(data.count)
        h1 &+= h2; h2 &+= h1
        h1 = fmix(h1); h2 = fmix(h2)
        h1 &+= h2; h2 &+= h1
        return (h1, h2)
    }

    @inline(__always) static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always) static func fmix(_ k: UInt64) -> UInt64 {
        var k = k
        k ^= k >> 33; k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33; k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }
}
