/**
 * Alert fingerprints as Prometheus and Alertmanager compute them (`model.LabelSet.Fingerprint()`):
 * FNV-1a 64 over the label names in sorted order, each name and value followed by the separator byte
 * 0xff, printed as 16 lower-case hex digits. An alert that a SQL rule raises and the same alert that
 * Alertmanager forwards therefore share one fingerprint, and so one state, one history and one
 * notification. Hand-written because no npm package exposes Prometheus's label hashing.
 * @module
 */

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;
const SEPARATOR = 0xff;

/** Labels of an alert or a series. */
export type Labels = Readonly<Record<string, string>>;

/**
 * The Prometheus fingerprint of `labels`, 16 hex digits (an empty set hashes to the FNV offset).
 *
 * @example
 * ```ts
 * fingerprint({ alertname: "OrderDrop", severity: "critical" }); // 16 hex digits
 * ```
 */
export function fingerprint(labels: Labels): string {
  const encoder = new TextEncoder();
  let hash = FNV_OFFSET;
  const mix = (byte: number) => {
    hash ^= BigInt(byte);
    hash = (hash * FNV_PRIME) & MASK_64;
  };
  for (const name of Object.keys(labels).sort()) {
    for (const byte of encoder.encode(name)) mix(byte);
    mix(SEPARATOR);
    for (const byte of encoder.encode(labels[name])) mix(byte);
    mix(SEPARATOR);
  }
  return hash.toString(16).padStart(16, "0");
}
