// Verilator testbench for kexue-hw arithmetic units: compares the exported
// Verilog with golden-model outputs streamed in by Python (kexue_hw/hdl/verilator.py).
// The golden model stays the judge: this file computes no expected values.
//
// Compile-time configuration (-D flags set by the Python driver):
//   KX_N         operand width N
//   KX_OUT_BITS  width of the main output (p: 2N; q: quotient bits)
//   KX_DIV       1 for dividers (outputs q and div_by_zero), 0 for multipliers (p)
//   KX_STREAM    1 for pipelined units (operands/result streams, clk), 0 for combinational
//   KX_LANES     combinational units: parallel copies in the kx_lanes wrapper (KX_LANES * N <= 64)
//
// Modes (argv[1]), all reading little-endian binary from stdin:
//   exhaustive ELEM_BYTES CHUNK   operands are generated here in the order
//       idx = 0 .. 2^(2N)-1, a = idx >> N, b = idx & (2^N-1) (bit patterns); stdin
//       carries the expected outputs chunk by chunk, ELEM_BYTES (4 or 8) each, packed
//       as value | div_by_zero << KX_OUT_BITS.
//   list    blocks of: u64 count, count x u64 a, count x u64 b, count x u64 value,
//       count x u8 flag; a block with count 0 ends the run.
// Optional argv: ready=PERMILLE seed=S (stream units: random result.ready);
//   threads=T (exhaustive mode, combinational units: T models checked in parallel).
// Prints: "vectors V mismatches M cycles C" and up to 10 "mismatch ..." lines.
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "Vdut.h"
#include "verilated.h"

// Verilator escapes the double underscores of Amaranth's flattened stream ports as ___05F.

static const int N = KX_N;
static const int OUT_BITS = KX_OUT_BITS;
static const uint64_t OPERAND_MASK = (N >= 64) ? ~0ull : ((1ull << N) - 1);
static const uint64_t OUT_MASK = (OUT_BITS >= 64) ? ~0ull : ((1ull << OUT_BITS) - 1);

static inline uint64_t low64(uint64_t v) { return v; }
static inline uint64_t bit_at(uint64_t v, int i) { return (v >> i) & 1u; }
template <std::size_t W>
static inline uint64_t low64(const VlWide<W>& w) {
    return (uint64_t)w[0] | ((uint64_t)w[1] << 32);
}
template <std::size_t W>
static inline uint64_t bit_at(const VlWide<W>& w, int i) {
    return (w[i / 32] >> (i % 32)) & 1u;
}
static inline uint64_t get_bits(uint64_t v, int lo, int n) { return (v >> lo) & ((n >= 64) ? ~0ull : ((1ull << n) - 1)); }
template <std::size_t W>
static inline uint64_t get_bits(const VlWide<W>& w, int lo, int n) {
    uint64_t r = 0;
    for (int got = 0; got < n;) {
        int bit = lo + got, take = 32 - bit % 32;
        if (take > n - got) take = n - got;
        uint64_t part = (uint64_t)(w[bit / 32] >> (bit % 32)) & ((take >= 64) ? ~0ull : ((1ull << take) - 1));
        r |= part << got;
        got += take;
    }
    return r;
}

static std::mutex print_lock;

struct Checker {
    uint64_t vectors = 0, mismatches = 0, cycles = 0;
    void check(uint64_t a, uint64_t b, uint64_t got, uint64_t got_flag, uint64_t exp, uint64_t exp_flag) {
        ++vectors;
        if (got != exp || got_flag != exp_flag) {
            std::lock_guard<std::mutex> guard(print_lock);
            if (mismatches < 10)
                printf("mismatch a=0x%" PRIx64 " b=0x%" PRIx64 " got=0x%" PRIx64 "/%" PRIu64 " expected=0x%" PRIx64
                       "/%" PRIu64 "\n",
                       a, b, got, got_flag, exp, exp_flag);
            ++mismatches;
        }
    }
};

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static unsigned ready_permille = 1000;
static unsigned threads = 1;  // exhaustive mode, combinational units: worker threads
static inline bool random_ready() {
    if (ready_permille >= 1000) return true;
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (rng_state % 1000) < ready_permille;
}

// Run count operand pairs through the DUT; expected outputs in exp/exp_flag.
static void run_block(Vdut* top, Checker& c, size_t count, const uint64_t* A, const uint64_t* B, const uint64_t* exp,
                      const uint8_t* exp_flag) {
#if KX_STREAM
    size_t sent = 0, received = 0;
    while (received < count) {
        bool offer = sent < count;
        top->operands___05Fvalid = offer;
        if (offer) top->operands___05Fpayload = (A[sent] & OPERAND_MASK) | ((B[sent] & OPERAND_MASK) << N);
        bool ready = random_ready();
        top->result___05Fready = ready;
        top->clk = 0;
        top->eval();
        bool in_fire = offer && top->operands___05Fready;
        if (top->result___05Fvalid && ready) {
            uint64_t got = low64(top->result___05Fpayload) & OUT_MASK;
            uint64_t flag = KX_DIV ? bit_at(top->result___05Fpayload, OUT_BITS) : 0;
            c.check(A[received], B[received], got, flag, exp[received], exp_flag[received]);
            ++received;
        }
        top->clk = 1;
        top->eval();
        if (in_fire) ++sent;
        ++c.cycles;
    }
#else
    // Combinational units are wrapped in KX_LANES parallel copies (module kx_lanes,
    // generated by the driver) so one eval() checks several pairs.
    for (size_t i = 0; i < count; i += KX_LANES) {
        size_t lanes = (count - i < (size_t)KX_LANES) ? count - i : (size_t)KX_LANES;
        uint64_t pa = 0, pb = 0;
        for (size_t l = 0; l < lanes; ++l) {
            pa |= (A[i + l] & OPERAND_MASK) << (l * N);
            pb |= (B[i + l] & OPERAND_MASK) << (l * N);
        }
        top->a_bus = pa;
        top->b_bus = pb;
        top->eval();
        for (size_t l = 0; l < lanes; ++l) {
            uint64_t got = get_bits(top->out_bus, (int)(l * OUT_BITS), OUT_BITS);
            uint64_t flag = get_bits(top->flag_bus, (int)l, 1);
            c.check(A[i + l], B[i + l], got, flag, exp[i + l], exp_flag[i + l]);
        }
    }
#endif
}

static bool read_exact(void* buf, size_t bytes) { return fread(buf, 1, bytes, stdin) == bytes; }

static void reset(Vdut* top) {
#if KX_STREAM
    top->rst = 1;
    top->operands___05Fvalid = 0;
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

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s exhaustive ELEM_BYTES CHUNK | list [ready=PERMILLE] [seed=S]\n", argv[0]);
        return 2;
    }
    for (int i = 2; i < argc; ++i) {
        if (!strncmp(argv[i], "ready=", 6)) ready_permille = (unsigned)atoi(argv[i] + 6);
        if (!strncmp(argv[i], "threads=", 8)) threads = (unsigned)atoi(argv[i] + 8);
        if (!strncmp(argv[i], "seed=", 5)) rng_state ^= strtoull(argv[i] + 5, nullptr, 10) * 0x2545F4914F6CDD1Dull;
    }
    if (threads < 1) threads = 1;
    auto ctx = std::make_unique<VerilatedContext>();
    auto top = std::make_unique<Vdut>(ctx.get());
    reset(top.get());
    Checker c;
    if (!strcmp(argv[1], "exhaustive")) {
        if (argc < 4) return 2;
        int elem = atoi(argv[2]);
        size_t chunk = strtoull(argv[3], nullptr, 10);
        uint64_t total = 1ull << (2 * N);
        std::vector<uint64_t> A(chunk), B(chunk), E(chunk);
        std::vector<uint8_t> F(chunk);
        std::vector<uint8_t> raw(chunk * elem);
        std::vector<std::unique_ptr<VerilatedContext>> contexts;
        std::vector<std::unique_ptr<Vdut>> workers;
        std::vector<Checker> checkers(threads);
        for (unsigned t = 0; t < threads; ++t) {
            contexts.emplace_back(new VerilatedContext);
            workers.emplace_back(new Vdut(contexts.back().get()));
            reset(workers.back().get());
        }
        for (uint64_t base = 0; base < total; base += chunk) {
            size_t n = (size_t)((total - base < chunk) ? total - base : chunk);
            if (!read_exact(raw.data(), n * elem)) {
                fprintf(stderr, "harness: expected values ended early at %" PRIu64 "\n", base);
                return 3;
            }
            for (size_t i = 0; i < n; ++i) {
                uint64_t idx = base + i;
                A[i] = idx >> N;
                B[i] = idx & OPERAND_MASK;
                uint64_t v = 0;
                memcpy(&v, raw.data() + i * elem, elem);
                if (KX_DIV) {
                    F[i] = (v >> OUT_BITS) & 1u;
                    E[i] = v & OUT_MASK;
                } else {
                    F[i] = 0;
                    E[i] = v;
                }
            }
#if KX_STREAM
            run_block(top.get(), c, n, A.data(), B.data(), E.data(), F.data());
#else
            // combinational: split the chunk between the worker models (one per thread)
            std::vector<std::thread> pool;
            size_t per = (n + workers.size() - 1) / workers.size();
            for (size_t w = 0; w < workers.size(); ++w) {
                size_t lo = w * per, hi = (lo + per < n) ? lo + per : n;
                if (lo >= hi) break;
                pool.emplace_back([&, w, lo, hi] {
                    run_block(workers[w].get(), checkers[w], hi - lo, A.data() + lo, B.data() + lo, E.data() + lo,
                              F.data() + lo);
                });
            }
            for (auto& t : pool) t.join();
#endif
        }
        for (auto& k : checkers) {
            c.vectors += k.vectors;
            c.mismatches += k.mismatches;
        }
    } else if (!strcmp(argv[1], "list")) {
        for (;;) {
            uint64_t n = 0;
            if (!read_exact(&n, 8) || n == 0) break;
            std::vector<uint64_t> A(n), B(n), E(n);
            std::vector<uint8_t> F(n);
            if (!read_exact(A.data(), n * 8) || !read_exact(B.data(), n * 8) || !read_exact(E.data(), n * 8) ||
                !read_exact(F.data(), n)) {
                fprintf(stderr, "harness: truncated block\n");
                return 3;
            }
            run_block(top.get(), c, n, A.data(), B.data(), E.data(), F.data());
        }
    } else {
        fprintf(stderr, "harness: unknown mode %s\n", argv[1]);
        return 2;
    }
    top->final();
    printf("vectors %" PRIu64 " mismatches %" PRIu64 " cycles %" PRIu64 "\n", c.vectors, c.mismatches, c.cycles);
    return c.mismatches ? 1 : 0;
}
