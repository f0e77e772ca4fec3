/* UTF-8 decoding, encoding and validation (strict: no overlongs, no surrogates, <= U+10FFFF). */
#ifndef PT_CORE_UTF8_H
#define PT_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes one code point at s[0..n); returns its byte length (1..4), or 0 when the bytes there
 * are not valid UTF-8 (then *cp is undefined). n must be > 0. */
size_t pt_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Encodes cp into out (4 bytes room); returns the length, 0 for an invalid code point. */
size_t pt_utf8_encode(uint32_t cp, char *out);
/* Length of the sequence a lead byte announces (1..4), 0 for a continuation/invalid byte. */
size_t pt_utf8_seq_len(unsigned char lead);
/* True when all n bytes are valid UTF-8; *bad_offset (nullable) gets the first bad byte. */
bool pt_utf8_valid(const char *s, size_t n, size_t *bad_offset);
/* Length of the longest prefix of s[0..n) that ends on a complete code point, treating a
 * trailing incomplete-but-so-far-valid sequence as "not yet complete" (streaming decoders). */
size_t pt_utf8_complete_prefix(const char *s, size_t n);

#endif
