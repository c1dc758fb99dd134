// Verilator harness for kexue-hw arithmetic units, built as a shared library that
// kexue_hw/hdl/verilator.py loads with ctypes. It drives the exported Verilog and
// hands back the raw outputs; it computes no expected values: the Numba golden model
// (kexue_hw.arith) compares them in Python, so the golden model stays the judge.
//
// Compile-time configuration (-D flags set by the Python driver):
//   KX_N         operand width N
//   KX_OUT_BITS  width of the main output (p: 2N; q: quotient bits)
//   KX_DIV       1 for dividers (outputs q and div_by_zero), 0 for multipliers (p)
//   KX_STREAM    1 for pipelined units (operands/result streams, clk), 0 for combinational
//   KX_LANES     combinational units: copies of the unit in the kx_lanes wrapper
//   KX_RANGE     combinational units: 1 for the range wrapper kx_lanes(a, b0, out_bus), in which
//                lane i evaluates (a, b0 + i) and writes {div_by_zero, value} into its
//                KX_SLOT-bit slot of out_bus (so the slots copy straight into the output
//                buffer, and the logic of the shared operand a is evaluated once per call);
//                0 for the pairs wrapper kx_lanes(a_bus, b_bus, out_bus, flag_bus)
//   KX_SLOT      32 or 64: bits per output element of kx_eval_range
//
// C interface (see kexue_hw/hdl/verilator.py):
//   void*    kx_open(void) / void kx_close(void* model)
//   uint64_t kx_eval_range(void* model, uint64_t start, uint64_t count, void* out)
//       pairs idx = start .. start + count - 1 with a = idx >> N, b = idx & (2^N - 1)
//       (bit patterns, so signed units see two's complement); out[i] = value |
//       div_by_zero << KX_OUT_BITS in KX_SLOT / 8 bytes. Combinational units need start
//       to be a multiple of KX_LANES (KX_LANES divides 2^N). Returns clock cycles (0 if none).
//   uint64_t kx_eval_pairs(void* model, uint64_t count, const uint64_t* a, const uint64_t* b,
//                          uint64_t* value, uint8_t* flag, uint32_t ready_permille, uint64_t seed)
//       explicit pairs; stream units see result.ready high with probability
//       ready_permille / 1000 (xorshift from seed). Returns clock cycles (0 if none).
#include <cstdint>
#include <cstring>
#include <memory>

#include "Vdut.h"
#include "verilated.h"

static const int N = KX_N;
static const int OUT_BITS = KX_OUT_BITS;
static const uint64_t OPERAND_MASK = (N >= 64) ? ~0ull : ((1ull << N) - 1);
static const uint64_t OUT_MASK = (OUT_BITS >= 64) ? ~0ull : ((1ull << OUT_BITS) - 1);

// ---------------------------------------------------------------------------- bit access
// Verilator holds ports of up to 64 bits in integers and wider ones in VlWide (32-bit words).
template <typename T>
static inline uint64_t get_bits(T v, int lo, int n) {
    return (uint64_t(v) >> lo) & ((n >= 64) ? ~0ull : ((1ull << n) - 1));
}
template <std::size_t W>
static inline uint64_t get_bits(const VlWide<W>& w, int lo, int n) {
    uint64_t r = 0;
    for (int got = 0; got < n;) {
        int bit = lo + got, take = 32 - bit % 32;
        if (take > n - got) take = n - got;
        uint64_t part = (uint64_t)(w[bit / 32] >> (bit % 32)) & ((1ull << take) - 1);
        r |= part << got;
        got += take;
    }
    return r;
}
template <typename T>
static inline void put_bits(T& v, int lo, int n, uint64_t x) {
    uint64_t mask = ((n >= 64) ? ~0ull : ((1ull << n) - 1)) << lo;
    v = T((uint64_t(v) & ~mask) | ((x << lo) & mask));
}
template <std::size_t W>
static inline void put_bits(VlWide<W>& w, int lo, int n, uint64_t x) {
    for (int done = 0; done < n;) {
        int bit = lo + done, take = 32 - bit % 32;
        if (take > n - done) take = n - done;
        uint32_t mask = (take >= 32) ? ~0u : (((1u << take) - 1) << (bit % 32));
        uint32_t part = (uint32_t)((x >> done) << (bit % 32));
        w[bit / 32] = (w[bit / 32] & ~mask) | (part & mask);
        done += take;
    }
}
template <typename T>
static inline const void* raw(const T& v) { return &v; }
template <std::size_t W>
static inline const void* raw(const VlWide<W>& w) { return w.data(); }

// ---------------------------------------------------------------------------- model
struct Model {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vdut> top;
};

static inline uint64_t xorshift(uint64_t& s) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

static void reset(Vdut* top) {
#if KX_STREAM
    top->rst = 1;
    top->operands___05Fvalid = 0;  // Verilator escapes Amaranth's "__" in port names as ___05F
    top->result___05Fready = 1;
    for (int i = 0; i < 2; ++i) {
        top->clk = 0;
        top->eval();
        top->clk = 1;
        top->eval();
    }
    top->rst = 0;
#else
    top->eval();
#endif
}

#if KX_STREAM
// One pair per cycle while result.ready allows; results leave in input order.
// pair(i) gives operand patterns; emit(i, value, flag) receives result i.
template <typename Pair, typename Emit>
static uint64_t run_stream(Vdut* top, uint64_t count, Pair pair, Emit emit, uint32_t ready_permille,
                           uint64_t seed) {
    uint64_t sent = 0, received = 0, cycles = 0, rng = seed * 0x2545F4914F6CDD1Dull ^ 0x9E3779B97F4A7C15ull;
    if (!rng) rng = 1;
    while (received < count) {
        bool offer = sent < count;
        top->operands___05Fvalid = offer;
        if (offer) {
            uint64_t a, b;
            pair(sent, a, b);
            top->operands___05Fpayload = (a & OPERAND_MASK) | ((b & OPERAND_MASK) << N);
        }
        bool ready = ready_permille >= 1000 || (xorshift(rng) % 1000) < ready_permille;
        top->result___05Fready = ready;
        top->clk = 0;
        top->eval();
        bool in_fire = offer && top->operands___05Fready;
        if (top->result___05Fvalid && ready) {
            uint64_t value = get_bits(top->result___05Fpayload, 0, OUT_BITS);
            uint64_t flag = KX_DIV ? get_bits(top->result___05Fpayload, OUT_BITS, 1) : 0;
            emit(received, value, flag);
            ++received;
        }
        top->clk = 1;
        top->eval();
        if (in_fire) ++sent;
        ++cycles;
    }
    return cycles;
}
#endif

extern "C" {

void* kx_open(void) {
    Model* m = new Model;
    m->ctx.reset(new VerilatedContext);
    m->top.reset(new Vdut(m->ctx.get()));
    reset(m->top.get());
    return m;
}

void kx_close(void* model) {
    Model* m = static_cast<Model*>(model);
    m->top->final();
    delete m;
}

uint64_t kx_eval_range(void* model, uint64_t start, uint64_t count, void* out) {
    Vdut* top = static_cast<Model*>(model)->top.get();
    uint8_t* dst = static_cast<uint8_t*>(out);
    const size_t slot = KX_SLOT / 8;
#if KX_STREAM
    return run_stream(
        top, count,
        [&](uint64_t i, uint64_t& a, uint64_t& b) {
            a = (start + i) >> N;
            b = (start + i) & OPERAND_MASK;
        },
        [&](uint64_t i, uint64_t value, uint64_t flag) {
            uint64_t word = value | (flag << OUT_BITS);
            memcpy(dst + i * slot, &word, slot);  // little endian: the low KX_SLOT bits
        },
        1000, 1);
#elif KX_RANGE
    const uint64_t L = KX_LANES;
    for (uint64_t i = 0; i < count; i += L) {
        uint64_t idx = start + i;  // a multiple of L, so every lane shares a
        top->a = idx >> N;
        top->b0 = idx & OPERAND_MASK;
        top->eval();
        uint64_t n = (count - i < L) ? count - i : L;
        memcpy(dst + i * slot, raw(top->out_bus), n * slot);
    }
    return 0;
#else
    (void)top, (void)dst, (void)slot, (void)start, (void)count;
    return ~0ull;  // built for explicit pairs
#endif
}

uint64_t kx_eval_pairs(void* model, uint64_t count, const uint64_t* a, const uint64_t* b, uint64_t* value,
                       uint8_t* flag, uint32_t ready_permille, uint64_t seed) {
    Vdut* top = static_cast<Model*>(model)->top.get();
#if KX_STREAM
    return run_stream(
        top, count,
        [&](uint64_t i, uint64_t& x, uint64_t& y) {
            x = a[i];
            y = b[i];
        },
        [&](uint64_t i, uint64_t v, uint64_t f) {
            value[i] = v;
            flag[i] = (uint8_t)f;
        },
        ready_permille, seed);
#elif !KX_RANGE
    (void)ready_permille, (void)seed;
    for (uint64_t i = 0; i < count; i += KX_LANES) {
        uint64_t lanes = (count - i < (uint64_t)KX_LANES) ? count - i : (uint64_t)KX_LANES;
        for (uint64_t l = 0; l < lanes; ++l) {
            put_bits(top->a_bus, (int)(l * N), N, a[i + l] & OPERAND_MASK);
            put_bits(top->b_bus, (int)(l * N), N, b[i + l] & OPERAND_MASK);
        }
        top->eval();
        for (uint64_t l = 0; l < lanes; ++l) {
            value[i + l] = get_bits(top->out_bus, (int)(l * OUT_BITS), OUT_BITS) & OUT_MASK;
            flag[i + l] = (uint8_t)get_bits(top->flag_bus, (int)l, 1);
        }
    }
    return 0;
#else
    (void)top, (void)count, (void)a, (void)b, (void)value, (void)flag, (void)ready_permille, (void)seed;
    return ~0ull;  // built for ranges
#endif
}

}  // extern "C"
