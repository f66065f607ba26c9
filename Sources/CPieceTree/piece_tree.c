// The two kernels of a Filecoin piece tree: fr32 padding and SHA-256 of 64-byte messages. Every message is one
// block of data followed by the same padding block, whose message schedule is therefore a constant.
// Written from FIPS 180-4 and Intel's description of the SHA extensions.

#include "piece_tree.h"
#include <string.h>

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/// W[t] + K[t] of the padding block after 64 bytes of data (0x80, zeros, the length 512 in bits); tests check
/// both kernels against swift-crypto's SHA-256.
static const uint32_t PAD_WK[64] = {
    0xc28a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf374,
    0x649b69c1, 0xf0fe4786, 0x0fe1edc6, 0x240cf254, 0x4fe9346f, 0x6cc984be, 0x61b9411e, 0x16f988fa,
    0xf2c65152, 0xa88e5a6d, 0xb019fc65, 0xb9d99ec7, 0x9a1231c3, 0xe70eeaa0, 0xfdb1232b, 0xc7353eb0,
    0x3069bad5, 0xcb976d5f, 0x5a0f118f, 0xdc1eeefd, 0x0a35b689, 0xde0b7a04, 0x58f4ca9d, 0xe15d5b16,
    0x007f3e86, 0x37088980, 0xa507ea32, 0x6fab9537, 0x17406110, 0x0d8cd6f1, 0xcdaa3b6d, 0xc0bbbe37,
    0x83613bda, 0xdb48a363, 0x0b02e931, 0x6fd15ca7, 0x521afaca, 0x31338431, 0x6ed41a95, 0x6d437890,
    0xc39c91f2, 0x9eccabbd, 0xb5c9a0e6, 0x532fb63c, 0xd2c741c6, 0x07237ea3, 0xa4954b68, 0x4c191d76,
};

static const uint32_t IV[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

/// The 64 rounds with W[t] + K[t] given, added into `state`.
static inline void rounds(uint32_t state[8], const uint32_t wk[64]) {
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + wk[t];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

void piece_tree_hash_pairs_portable(const uint8_t *in, uint8_t *out, size_t count) {
    for (size_t i = 0; i < count; i++) {
        const uint8_t *m = in + 64 * i;
        uint32_t w[64];
        for (int t = 0; t < 16; t++) {
            w[t] = (uint32_t)m[4 * t] << 24 | (uint32_t)m[4 * t + 1] << 16 | (uint32_t)m[4 * t + 2] << 8 | m[4 * t + 3];
        }
        for (int t = 16; t < 64; t++) {
            uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
            uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = s1 + w[t - 7] + s0 + w[t - 16];
        }
        for (int t = 0; t < 64; t++) w[t] += K[t];
        uint32_t state[8];
        memcpy(state, IV, sizeof state);
        rounds(state, w);
        rounds(state, PAD_WK);
        // The whole message has been read: writing over it (in-place reduction) is safe from here on.
        uint8_t *o = out + 32 * i;
        for (int j = 0; j < 8; j++) {
            o[4 * j] = (uint8_t)(state[j] >> 24);
            o[4 * j + 1] = (uint8_t)(state[j] >> 16);
            o[4 * j + 2] = (uint8_t)(state[j] >> 8);
            o[4 * j + 3] = (uint8_t)state[j];
        }
        o[31] &= 0x3f;
    }
}

void piece_tree_fr32_pad(const uint8_t *in, uint8_t *out, size_t quads) {
    for (size_t q = 0; q < quads; q++) {
        const uint8_t *s = in + 127 * q;
        uint8_t *o = out + 128 * q;
        for (int i = 0; i < 32; i++) o[i] = s[i];
        o[31] &= 0x3f;
        for (int i = 32; i < 64; i++) o[i] = (uint8_t)(s[i] << 2 | s[i - 1] >> 6);
        o[63] &= 0x3f;
        for (int i = 64; i < 96; i++) o[i] = (uint8_t)(s[i] << 4 | s[i - 1] >> 4);
        o[95] &= 0x3f;
        for (int i = 96; i < 127; i++) o[i] = (uint8_t)(s[i] << 6 | s[i - 1] >> 2);
        o[127] = s[126] >> 2;
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>
#include <immintrin.h>

int piece_tree_has_sha_extensions(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int sse41 = (c >> 19) & 1, ssse3 = (c >> 9) & 1;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return sse41 && ssse3 && ((b >> 29) & 1);
}

#define TARGET __attribute__((target("sha,sse4.1,ssse3")))

/// Byte order of each 32-bit word reversed (SHA-256 words are big-endian).
TARGET static inline __m128i swap_words(__m128i x) {
    return _mm_shuffle_epi8(x, _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL));
}

/// Four rounds of two independent messages, interleaved so that the SHA unit is not idle while it waits.
/// The state lives as (f, e, b, a) and (h, g, d, c), from the low word up, as the instructions want it.
#define FOUR_ROUNDS(wk0, wk1) do { \
    __m128i m0 = (wk0), m1 = (wk1); \
    cdgh0 = _mm_sha256rnds2_epu32(cdgh0, abef0, m0); \
    cdgh1 = _mm_sha256rnds2_epu32(cdgh1, abef1, m1); \
    m0 = _mm_shuffle_epi32(m0, 0x0e); \
    m1 = _mm_shuffle_epi32(m1, 0x0e); \
    abef0 = _mm_sha256rnds2_epu32(abef0, cdgh0, m0); \
    abef1 = _mm_sha256rnds2_epu32(abef1, cdgh1, m1); \
} while (0)

/// One block's message schedule, four words per vector.
TARGET static inline void load_block(const uint8_t *m, __m128i w[16]) {
    for (int i = 0; i < 4; i++) w[i] = swap_words(_mm_loadu_si128((const __m128i *)(m + 16 * i)));
    for (int i = 4; i < 16; i++) {
        __m128i t = _mm_sha256msg1_epu32(w[i - 4], w[i - 3]);
        t = _mm_add_epi32(t, _mm_alignr_epi8(w[i - 1], w[i - 2], 4));
        w[i] = _mm_sha256msg2_epu32(t, w[i - 1]);
    }
}

/// Writes the digest held as (f, e, b, a) and (h, g, d, c), with byte 31 truncated to 6 bits.
TARGET static inline void store_state(__m128i fe_ba, __m128i hg_dc, uint8_t *o) {
    __m128i ab_ef = _mm_shuffle_epi32(fe_ba, 0x1b);
    __m128i gh_cd = _mm_shuffle_epi32(hg_dc, 0xb1);
    __m128i abcd = _mm_blend_epi16(ab_ef, gh_cd, 0xf0);
    __m128i efgh = _mm_alignr_epi8(gh_cd, ab_ef, 8);
    _mm_storeu_si128((__m128i *)o, swap_words(abcd));
    _mm_storeu_si128((__m128i *)(o + 16), swap_words(efgh));
    o[31] &= 0x3f;
}

/// Hashes `m0` into `o0` and `m1` into `o1`; both messages are read before either digest is written.
TARGET static inline void hash_two(const uint8_t *m0, const uint8_t *m1, uint8_t *o0, uint8_t *o1,
                                   const __m128i k[16], const __m128i pad[16], __m128i iv_abef, __m128i iv_cdgh) {
    __m128i w0[16], w1[16];
    load_block(m0, w0);
    load_block(m1, w1);
    __m128i abef0 = iv_abef, cdgh0 = iv_cdgh, abef1 = iv_abef, cdgh1 = iv_cdgh;
    for (int i = 0; i < 16; i++) FOUR_ROUNDS(_mm_add_epi32(w0[i], k[i]), _mm_add_epi32(w1[i], k[i]));
    abef0 = _mm_add_epi32(abef0, iv_abef);
    cdgh0 = _mm_add_epi32(cdgh0, iv_cdgh);
    abef1 = _mm_add_epi32(abef1, iv_abef);
    cdgh1 = _mm_add_epi32(cdgh1, iv_cdgh);
    __m128i sa0 = abef0, sc0 = cdgh0, sa1 = abef1, sc1 = cdgh1;
    for (int i = 0; i < 16; i++) FOUR_ROUNDS(pad[i], pad[i]);
    store_state(_mm_add_epi32(abef0, sa0), _mm_add_epi32(cdgh0, sc0), o0);
    store_state(_mm_add_epi32(abef1, sa1), _mm_add_epi32(cdgh1, sc1), o1);
}

TARGET void piece_tree_hash_pairs_hardware(const uint8_t *in, uint8_t *out, size_t count) {
    __m128i k[16], pad[16];
    for (int i = 0; i < 16; i++) {
        k[i] = _mm_loadu_si128((const __m128i *)(K + 4 * i));
        pad[i] = _mm_loadu_si128((const __m128i *)(PAD_WK + 4 * i));
    }
    __m128i ba_dc = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)IV), 0xb1);
    __m128i hg_fe = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(IV + 4)), 0x1b);
    __m128i iv_abef = _mm_alignr_epi8(ba_dc, hg_fe, 8);
    __m128i iv_cdgh = _mm_blend_epi16(hg_fe, ba_dc, 0xf0);
    size_t i = 0;
    for (; i + 1 < count; i += 2) {
        hash_two(in + 64 * i, in + 64 * (i + 1), out + 32 * i, out + 32 * (i + 1), k, pad, iv_abef, iv_cdgh);
    }
    if (i < count) {
        uint8_t unused[32];
        hash_two(in + 64 * i, in + 64 * i, out + 32 * i, unused, k, pad, iv_abef, iv_cdgh);
    }
}

#else

int piece_tree_has_sha_extensions(void) { return 0; }

void piece_tree_hash_pairs_hardware(const uint8_t *in, uint8_t *out, size_t count) {
    piece_tree_hash_pairs_portable(in, out, count);
}

#endif
