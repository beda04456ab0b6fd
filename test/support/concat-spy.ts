/**
 * Counts the bytes Buffer.concat makes while it runs: how many copies of a message the
 * receive path took. `restore()` puts Buffer.concat back (call it in a finally).
 */
export function spyOnConcat(): { readonly bytes: number; reset(): void; restore(): void } {
  const concat = Buffer.concat;
  let bytes = 0;
  Buffer.concat = (list: readonly Uint8Array[], total?: number) => {
    const out = concat(list, total);
    bytes += out.length;
    return out;
  };
  return {
    get bytes() {
      return bytes;
    },
    reset: () => {
      bytes = 0;
    },
    restore: () => {
      Buffer.concat = concat;
    },
  };
}
