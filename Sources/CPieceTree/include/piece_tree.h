#ifndef PIECE_TREE_H
#define PIECE_TREE_H

#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has the instructions `piece_tree_hash_pairs_hardware` uses (x86 SHA extensions, SSE4.1).
int piece_tree_has_sha_extensions(void);

/// Hashes `count` consecutive 64-byte messages, `out[32i..<32i+32] = SHA-256(in[64i..<64i+64])`, with the two
/// top bits of byte 31 cleared: the `sha2-256-trunc254` node hash of Filecoin piece trees. `out` may be
/// `in` (a tree level is reduced in place). Portable C.
void piece_tree_hash_pairs_portable(const uint8_t *in, uint8_t *out, size_t count);

/// The same as `piece_tree_hash_pairs_portable` with the x86 SHA extensions, two messages at a time;
/// call it only when `piece_tree_has_sha_extensions()` is non-zero.
void piece_tree_hash_pairs_hardware(const uint8_t *in, uint8_t *out, size_t count);

/// fr32 padding of `quads` consecutive 127-byte groups into 128-byte groups (four 32-byte leaves whose two
/// top bits are zero): 254 payload bits per leaf.
void piece_tree_fr32_pad(const uint8_t *in, uint8_t *out, size_t quads);

#endif
