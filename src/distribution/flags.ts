/**
 * Distribution capability flags (DFLAG_*), exchanged in the handshake.
 * Spec: erts/doc/guides/erl_dist_protocol.md, "Distribution Flags"; the mandatory
 * sets are those of lib/kernel/src/dist_util.erl.
 */
export const DFLAG_PUBLISHED = 0x1n;
export const DFLAG_ATOM_CACHE = 0x2n;
/** Mandatory since OTP 25. */
export const DFLAG_EXTENDED_REFERENCES = 0x4n;
export const DFLAG_DIST_MONITOR = 0x8n;
/** Mandatory since OTP 25. */
export const DFLAG_FUN_TAGS = 0x10n;
export const DFLAG_DIST_MONITOR_NAME = 0x20n;
export const DFLAG_HIDDEN_ATOM_CACHE = 0x40n;
/** Mandatory since OTP 25. */
export const DFLAG_NEW_FUN_TAGS = 0x80n;
/** Mandatory since OTP 25. */
export const DFLAG_EXTENDED_PIDS_PORTS = 0x100n;
/** Mandatory since OTP 25. */
export const DFLAG_EXPORT_PTR_TAG = 0x200n;
/** Mandatory since OTP 25. */
export const DFLAG_BIT_BINARIES = 0x400n;
/** Mandatory since OTP 25. */
export const DFLAG_NEW_FLOATS = 0x800n;
export const DFLAG_UNICODE_IO = 0x1000n;
export const DFLAG_DIST_HDR_ATOM_CACHE = 0x2000n;
export const DFLAG_SMALL_ATOM_TAGS = 0x4000n;
/** Mandatory since OTP 25. */
export const DFLAG_UTF8_ATOMS = 0x10000n;
/** Mandatory since OTP 25. */
export const DFLAG_MAP_TAG = 0x20000n;
/** 32-bit creation. Mandatory since OTP 25. */
export const DFLAG_BIG_CREATION = 0x40000n;
export const DFLAG_SEND_SENDER = 0x80000n;
export const DFLAG_BIG_SEQTRACE_LABELS = 0x100000n;
export const DFLAG_EXIT_PAYLOAD = 0x400000n;
export const DFLAG_FRAGMENTS = 0x800000n;
/** The new handshake (send_name 'N', 64-bit flags). Mandatory since OTP 25. */
export const DFLAG_HANDSHAKE_23 = 0x1000000n;
/** The new link protocol. Mandatory since OTP 26. */
export const DFLAG_UNLINK_ID = 0x2000000n;
/** Not a capability: set in the handshake by OTP 25+ to say it demands the OTP 25 mandatory set. */
export const DFLAG_MANDATORY_25_DIGEST = 0x4000000n;
export const DFLAG_SPAWN = 1n << 32n;
/** Dynamic node names: the acceptor names the initiator. We never ask for it. */
export const DFLAG_NAME_ME = 1n << 33n;
/** 64-bit pid/port numbers, 5-word references. Mandatory since OTP 26. */
export const DFLAG_V4_NC = 1n << 34n;
export const DFLAG_ALIAS = 1n << 35n;

/** What OTP 25 refuses to connect without (dist_util ?DFLAGS_MANDATORY_25). */
export const DFLAGS_MANDATORY_OTP25 =
  DFLAG_EXTENDED_REFERENCES | DFLAG_FUN_TAGS | DFLAG_EXTENDED_PIDS_PORTS | DFLAG_UTF8_ATOMS | DFLAG_NEW_FUN_TAGS |
  DFLAG_BIG_CREATION | DFLAG_NEW_FLOATS | DFLAG_MAP_TAG | DFLAG_EXPORT_PTR_TAG | DFLAG_BIT_BINARIES | DFLAG_HANDSHAKE_23;

/** What OTP 26 and 27 refuse to connect without (dist_util ?DFLAGS_MANDATORY_26). */
export const DFLAGS_MANDATORY_OTP26 = DFLAGS_MANDATORY_OTP25 | DFLAG_V4_NC | DFLAG_UNLINK_ID;

/**
 * Exactly what this implementation does, so exactly what it advertises: the OTP 26
 * mandatory set, monitors (by pid and name), the distribution header (read with its
 * atom cache; we send no cache references), fragments, payload exits, SEND_SENDER,
 * spawn requests (refused unless for exposed functions) and aliases. PUBLISHED is
 * removed for hidden nodes.
 */
export const LOCAL_DIST_FLAGS =
  DFLAGS_MANDATORY_OTP26 | DFLAG_PUBLISHED | DFLAG_DIST_MONITOR | DFLAG_DIST_MONITOR_NAME | DFLAG_DIST_HDR_ATOM_CACHE |
  DFLAG_SMALL_ATOM_TAGS | DFLAG_FRAGMENTS | DFLAG_EXIT_PAYLOAD | DFLAG_SEND_SENDER | DFLAG_SPAWN | DFLAG_ALIAS |
  DFLAG_BIG_SEQTRACE_LABELS | DFLAG_UNICODE_IO;

/**
 * A peer's flags as OTP reads them: DFLAG_MANDATORY_25_DIGEST stands for the whole
 * OTP 25 mandatory set, so a node may send that one bit in place of them (OTP 25+
 * accept it; dist_util:expand_mandatory_25_flag/1, applied to the flags of send_name
 * and of the challenge). The handshake parsers apply it, so both sides see the set.
 */
export function expandMandatory25Digest(flags: bigint): bigint {
  return (flags & DFLAG_MANDATORY_25_DIGEST) !== 0n ? flags | DFLAGS_MANDATORY_OTP25 : flags;
}

/** The mandatory flags `flags` lacks (empty when they are acceptable). */
export function missingMandatory(flags: bigint, mandatory = DFLAGS_MANDATORY_OTP25): bigint {
  return mandatory & ~flags;
}

/** Flags as hex, for logs. */
export function formatFlags(flags: bigint): string {
  return `0x${flags.toString(16)}`;
}
