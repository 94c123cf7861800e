// Limits of the decoders, shared by every codec backend.

/**
 * Memory an xz stream may need to decode (its dictionary, mostly). xz's presets use at most 64 MiB;
 * a stream that claims more is refused rather than allowed to grow the process.
 */
export const XZ_MEMLIMIT = 128 << 20;
