/**
 * External Term Format tags, spelled as in OTP's erts/doc/guides/erl_ext_dist.md.
 * Notes say which OTP releases produce a tag; we decode every tag OTP 23+ can send
 * and encode the forms OTP 26+ produce.
 */
export const VERSION_MAGIC = 131;

export const Tag = {
  /** Distribution header (not a term): normal, fragment start, fragment continuation. */
  DIST_HEADER: 68,
  DIST_FRAG_HEADER: 69,
  DIST_FRAG_CONT: 70,

  /** zlib-compressed term: 4-byte uncompressed size then zlib data. */
  COMPRESSED: 80,
  /** Index into the atom cache of the distribution header. Only inside dist messages. */
  ATOM_CACHE_REF: 82,

  NEW_FLOAT_EXT: 70,
  BIT_BINARY_EXT: 77,
  /** Pid with 32-bit creation. Encoded by every OTP since 23 (DFLAG_BIG_CREATION). */
  NEW_PID_EXT: 88,
  /** Port with 32-bit id. Decoded only: OTP 26+ sends V4_PORT_EXT. */
  NEW_PORT_EXT: 89,
  /** Reference with 32-bit creation and up to 5 id words (5 since OTP 26, DFLAG_V4_NC). */
  NEWER_REFERENCE_EXT: 90,
  SMALL_INTEGER_EXT: 97,
  INTEGER_EXT: 98,
  /** Float as a "%.20e" string. Minor version 0, decode only. */
  FLOAT_EXT: 99,
  /** Latin-1 atom. Deprecated; decode only. */
  ATOM_EXT: 100,
  /** Reference with one id word and an 8-bit creation. Deprecated; decode only. */
  REFERENCE_EXT: 101,
  /** Port with 8-bit creation. Pre-OTP 23 peers; decode only. */
  PORT_EXT: 102,
  /** Pid with 8-bit creation. Pre-OTP 23 peers; decode only. */
  PID_EXT: 103,
  SMALL_TUPLE_EXT: 104,
  LARGE_TUPLE_EXT: 105,
  NIL_EXT: 106,
  STRING_EXT: 107,
  LIST_EXT: 108,
  BINARY_EXT: 109,
  SMALL_BIG_EXT: 110,
  LARGE_BIG_EXT: 111,
  NEW_FUN_EXT: 112,
  EXPORT_EXT: 113,
  /** Reference with an 8-bit creation. Pre-OTP 23 peers; decode only. */
  NEW_REFERENCE_EXT: 114,
  /** Latin-1 atom, 1-byte length. Deprecated; decode only. */
  SMALL_ATOM_EXT: 115,
  MAP_EXT: 116,
  ATOM_UTF8_EXT: 118,
  SMALL_ATOM_UTF8_EXT: 119,
  /** Port with 64-bit id. Mandatory since OTP 26 (DFLAG_V4_NC). */
  V4_PORT_EXT: 120,
  /** Local external format (term_to_binary(T, [local]), OTP 26+): opaque to anyone else. */
  LOCAL_EXT: 121,
} as const;
export type Tag = (typeof Tag)[keyof typeof Tag];
