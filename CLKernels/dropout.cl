/* dropout — dropout masks from a counter-based hash (no random state on the device).
 *
 * out[i] = scale if hash(i·0x9E3779B9 + seed·0x85EBCA6B + salt_mix) >> 8 < threshold, else 0, with
 * Wellons' lowbias32 finaliser as the hash, threshold = keep·2²⁴, scale = 1/keep and salt_mix =
 * salt·0xC2B2AE35 (computed on the host). TensorGraph's DropoutMask computes the same bits, so the
 * reference backend draws the same masks.
 *
 * Variants:
 *   1. dropout_mask   any device: each work-item fills `per_item` consecutive elements, 16 at a time
 *                     as uint16 / float16 vectors (pocl keeps them in vector registers), scalar tail.
 *                     On GPUs per_item = 16 gives one vector per work-item.
 */

#define DROPOUT_HASH(x) \
    x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16;

__kernel void dropout_mask(__global float *out, __global const int *seed, const int n, const uint salt_mix,
                           const uint threshold, const float scale, const int per_item) {
    const int start = get_global_id(0) * per_item;
    const int stop = min(start + per_item, n);
    const uint mix = (uint)seed[0] * 0x85ebca6bu + salt_mix;
    const uint16 lanes = (uint16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int i = start;
    for (; i + 16 <= stop; i += 16) {
        uint16 x = ((uint16)((uint)i) + lanes) * 0x9e3779b9u + mix;
        DROPOUT_HASH(x)
        vstore16(select((float16)(0.0f), (float16)(scale), (x >> 8) < (uint16)(threshold)), 0, out + i);
    }
    for (; i < stop; ++i) {
        uint x = (uint)i * 0x9e3779b9u + mix;
        DROPOUT_HASH(x)
        out[i] = (x >> 8) < threshold ? scale : 0.0f;
    }
}
