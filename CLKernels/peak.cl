/* peak — probes of a device's attainable fp32 rate and memory bandwidth (`clbench peak`).
 *
 * Variants:
 *   1. peak_fma        8 independent fma chains on float16 per work-item; no memory traffic.
 *                      fma, not mad: pocl runs mad at half rate. Counts 2 FLOP per lane per fma.
 *   2. copy_chunked    each work-item copies a contiguous chunk of CHUNK float16s (CPU: one core
 *                      streams through its own pages, pocl vectorises the explicit vectors).
 *   3. copy_strided    work-item i touches float16 i, i+G, i+2G… (GPU: coalesced across a warp).
 *   4. read_chunked / read_strided    sum a float16 stream, write one float per work-item.
 *   5. write_chunked / write_strided  fill a float16 stream with a value.
 * The probe runs both layouts and keeps the faster: that is the device's measured peak.
 */

__kernel void peak_fma(__global float *out, const float seed, const int iterations) {
    const float16 lane = (float16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    float16 a0 = seed + lane * 1e-3f, a1 = a0 + 0.1f, a2 = a0 + 0.2f, a3 = a0 + 0.3f;
    float16 a4 = a0 + 0.4f, a5 = a0 + 0.5f, a6 = a0 + 0.6f, a7 = a0 + 0.7f;
    const float16 m = (float16)(0.9999f), c = (float16)(1e-4f);
    for (int i = 0; i < iterations; ++i) {
        a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
        a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
    }
    const float16 s = (a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7);
    const float8 h = s.lo + s.hi;
    const float4 q = h.lo + h.hi;
    out[get_global_id(0)] = q.x + q.y + q.z + q.w;
}

__kernel void copy_chunked(__global const float16 *src, __global float16 *dst, const int chunk) {
    const size_t base = get_global_id(0) * (size_t)chunk;
    for (int i = 0; i < chunk; ++i) dst[base + i] = src[base + i];
}

__kernel void copy_strided(__global const float16 *src, __global float16 *dst, const int chunk) {
    const size_t stride = get_global_size(0);
    for (int i = 0; i < chunk; ++i) dst[get_global_id(0) + i * stride] = src[get_global_id(0) + i * stride];
}

__kernel void read_chunked(__global const float16 *src, __global float *out, const int chunk) {
    const size_t base = get_global_id(0) * (size_t)chunk;
    float16 acc = (float16)(0.0f);
    for (int i = 0; i < chunk; ++i) acc += src[base + i];
    const float8 h = acc.lo + acc.hi;
    const float4 q = h.lo + h.hi;
    out[get_global_id(0)] = q.x + q.y + q.z + q.w;
}

__kernel void read_strided(__global const float16 *src, __global float *out, const int chunk) {
    const size_t stride = get_global_size(0);
    float16 acc = (float16)(0.0f);
    for (int i = 0; i < chunk; ++i) acc += src[get_global_id(0) + i * stride];
    const float8 h = acc.lo + acc.hi;
    const float4 q = h.lo + h.hi;
    out[get_global_id(0)] = q.x + q.y + q.z + q.w;
}

__kernel void write_chunked(__global float16 *dst, const float value, const int chunk) {
    const size_t base = get_global_id(0) * (size_t)chunk;
    for (int i = 0; i < chunk; ++i) dst[base + i] = (float16)(value);
}

__kernel void write_strided(__global float16 *dst, const float value, const int chunk) {
    const size_t stride = get_global_size(0);
    for (int i = 0; i < chunk; ++i) dst[get_global_id(0) + i * stride] = (float16)(value);
}
