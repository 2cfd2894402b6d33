// `auto` fusion: the decision on interleaved timing samples (clear win, clear loss, noise), and
// the calibration cache (keys, expiry, damaged files ignored with a warning, never a crash).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "runtime/fusion_cache.h"
#include "runtime/fusion_plan.h"
#include "test_util.h"

namespace trident {
namespace {

namespace fs = std::filesystem;

// n samples around `center` microseconds with relative noise `spread`.
std::vector<double> samples(double center, double spread, int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> d(0.0, spread);
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(center * (1.0 + d(rng)));
  return v;
}

TEST(FusionDecision, ClearlyFasterUnfusedIsChosen) {
  const FusionVerdict v = decide_fusion(samples(100, 0.02, 15, 1), samples(80, 0.02, 15, 2));
  EXPECT_FALSE(v.fused);
  EXPECT_LT(v.p_value, 0.001);
  EXPECT_EQ(v.runs, 15);
  EXPECT_NEAR(v.fused_us, 100, 3);
  EXPECT_NEAR(v.unfused_us, 80, 3);
  EXPECT_NE(explain_verdict(v).find("unfused significantly faster"), std::string::npos) << explain_verdict(v);
}

TEST(FusionDecision, ClearlyFasterFusedIsChosen) {
  const FusionVerdict v = decide_fusion(samples(80, 0.02, 15, 3), samples(100, 0.02, 15, 4));
  EXPECT_TRUE(v.fused);
  EXPECT_LT(v.p_value, 0.001);
  EXPECT_NE(explain_verdict(v).find("fused significantly faster"), std::string::npos) << explain_verdict(v);
}

TEST(FusionDecision, NoiseDefaultsToFused) {
  // The same distribution on both sides, or a 1% edge to unfused drowned in 10% noise: fused,
  // but for the test's false positives (p < 0.01 on the side of unfused: about 0.5% of draws).
  int unfused_same = 0, unfused_edge = 0;
  for (unsigned seed = 0; seed < 400; ++seed) {
    unfused_same += !decide_fusion(samples(100, 0.1, 15, seed), samples(100, 0.1, 15, seed + 1000)).fused;
    unfused_edge += !decide_fusion(samples(100, 0.1, 15, seed), samples(99, 0.1, 15, seed + 2000)).fused;
  }
  EXPECT_LE(unfused_same, 6);  // 1.5% of 400
  EXPECT_LE(unfused_edge, 8);
  // One wild outlier (a descheduled run) does not decide it either: medians, ranks.
  std::vector<double> f = samples(100, 0.01, 15, 7), u = samples(100, 0.01, 15, 8);
  f[3] = 16000;
  const FusionVerdict v = decide_fusion(f, u);
  EXPECT_TRUE(v.fused);
  EXPECT_LT(v.fused_us, 103);
  EXPECT_NE(explain_verdict(v).find("within noise: fused"), std::string::npos) << explain_verdict(v);
}

TEST(FusionDecision, TooFewSamplesOrIdenticalOnesMeanFused) {
  EXPECT_TRUE(decide_fusion(std::vector<double>{100, 100}, std::vector<double>{1, 1}).fused);
  const std::vector<double> same(10, 5.0);
  const FusionVerdict v = decide_fusion(same, same);
  EXPECT_TRUE(v.fused);
  EXPECT_EQ(v.p_value, 1.0);
}

TEST(FusionDecision, MannWhitneyMatchesAKnownValue) {
  // a entirely below b, 5 + 5 values: U = 0; normal approximation with continuity correction
  // gives z = (12.5 - 0.5) / sqrt(275 / 12) = 2.5067, p = 0.0122.
  const std::vector<double> a = {1, 2, 3, 4, 5}, b = {6, 7, 8, 9, 10};
  EXPECT_NEAR(mann_whitney_p(a, b), 0.0122, 0.0002);
  EXPECT_NEAR(mann_whitney_p(b, a), 0.0122, 0.0002);
}

class CalibrationCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("trident-cache-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    path_ = (dir_ / "fusion-calibration.json").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& text) { std::ofstream(path_) << text; }
  static FusionVerdict verdict(bool fused, int64_t at) {
    FusionVerdict v;
    v.fused = fused;
    v.fused_us = 10;
    v.unfused_us = 8;
    v.runs = 15;
    v.p_value = 0.001;
    v.measured_at = at;
    return v;
  }
  fs::path dir_;
  std::string path_;
};

constexpr int64_t kNow = 1'800'000'000;

TEST_F(CalibrationCacheTest, RoundTripsAndKeysOnEveryDependency) {
  const std::string key = calibration_key("cpu A", "avx512", "abc1234", 2, "q4_0:64x64", 8);
  EXPECT_EQ(key, "cpu A|avx512|abc1234|t2|q4_0:64x64|b8");
  {
    CalibrationCache c(path_);
    EXPECT_FALSE(c.load());  // no file: empty, no warning
    c.put(key, verdict(false, kNow - 10));
    EXPECT_FALSE(c.save(kNow));
  }
  CalibrationCache c(path_);
  EXPECT_FALSE(c.load());
  const auto v = c.find(key, kNow);
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->fused);
  EXPECT_TRUE(v->from_cache);
  EXPECT_EQ(v->runs, 15);
  EXPECT_EQ(v->measured_at, kNow - 10);
  // Another CPU, kernel set, build, thread count, shape or bucket is another key.
  for (const std::string& other :
       {calibration_key("cpu B", "avx512", "abc1234", 2, "q4_0:64x64", 8),
        calibration_key("cpu A", "avx2", "abc1234", 2, "q4_0:64x64", 8),
        calibration_key("cpu A", "avx512", "def5678", 2, "q4_0:64x64", 8),
        calibration_key("cpu A", "avx512", "abc1234", 1, "q4_0:64x64", 8),
        calibration_key("cpu A", "avx512", "abc1234", 2, "q8_0:64x64", 8),
        calibration_key("cpu A", "avx512", "abc1234", 2, "q4_0:64x64", 16)})
    EXPECT_FALSE(c.find(other, kNow)) << other;
}

TEST_F(CalibrationCacheTest, EntriesExpireWithAgeAndAreDroppedOnSave) {
  CalibrationCache c(path_);
  c.put("old", verdict(true, kNow - CalibrationCache::kMaxAgeSeconds - 1));
  c.put("fresh", verdict(true, kNow - CalibrationCache::kMaxAgeSeconds + 60));
  c.put("future", verdict(true, kNow + 3600));  // a clock set back: not trusted
  EXPECT_FALSE(c.find("old", kNow));
  EXPECT_TRUE(c.find("fresh", kNow));
  EXPECT_FALSE(c.find("future", kNow));
  EXPECT_FALSE(c.save(kNow));
  std::ifstream in(path_);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("\"old\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"fresh\""), std::string::npos) << text;
}

TEST_F(CalibrationCacheTest, DamagedFilesAreIgnoredWithAWarning) {
  struct Case {
    const char* text;
    const char* warning;  // the part after the path
  };
  const Case cases[] = {
      {"{\"format\": 2, \"entries\": {", ": not well-formed JSON: "},
      {"[1, 2]", ": not a JSON object"},
      {"{\"format\": 2}", ": no \"entries\" object"},
      {"\x01\x02garbage", ": not well-formed JSON: "},
  };
  for (const Case& k : cases) {
    write(k.text);
    CalibrationCache c(path_);
    const auto w = c.load();
    ASSERT_TRUE(w) << k.text;
    EXPECT_EQ(w->rfind("ignoring the fusion calibration cache " + path_, 0), 0u) << *w;
    EXPECT_NE(w->find(k.warning), std::string::npos) << *w;
    EXPECT_FALSE(c.find("x", kNow));
    // Saving over a damaged file replaces it with a good one.
    c.put("x", verdict(true, kNow));
    EXPECT_FALSE(c.save(kNow));
    CalibrationCache again(path_);
    EXPECT_FALSE(again.load());
    EXPECT_TRUE(again.find("x", kNow));
  }
}

TEST_F(CalibrationCacheTest, MalformedEntriesAreSkippedAndTheRestKept) {
  write(R"({"format": 2, "entries": {
    "good": {"fused": false, "fused_us": 9, "unfused_us": 7, "runs": 9, "p_value": 0.001, "measured_at": 1799999000},
    "no_age": {"fused": false, "fused_us": 9, "unfused_us": 7, "runs": 9, "p_value": 0.001},
    "wrong_type": {"fused": "no", "fused_us": 9, "unfused_us": 7, "runs": 9, "p_value": 0.001, "measured_at": 1},
    "not_an_object": 3}})");
  CalibrationCache c(path_);
  const auto w = c.load();
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, "ignoring 3 malformed entries of the fusion calibration cache " + path_);
  EXPECT_TRUE(c.find("good", kNow));
  EXPECT_FALSE(c.find("no_age", kNow));
}

TEST_F(CalibrationCacheTest, FilesOfTheFirstFormatAreReplacedSilently) {
  write(R"({"cpu|avx512|t2|q4_0:64x64|b8": {"fused": false, "fused_us": 15960, "unfused_us": 9257}})");
  CalibrationCache c(path_);
  EXPECT_FALSE(c.load());
  EXPECT_FALSE(c.find("cpu|avx512|t2|q4_0:64x64|b8", kNow));
}

TEST_F(CalibrationCacheTest, AnUnwritableDirectoryIsAWarningNotAFailure) {
  CalibrationCache c("/proc/trident-cannot-write-here/fusion-calibration.json");
  EXPECT_FALSE(c.load());
  c.put("x", verdict(true, kNow));
  const auto w = c.save(kNow);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->rfind("could not save the fusion calibration cache", 0), 0u) << *w;
}

// End to end: `run` with a damaged cache warns once, measures, generates, exits 0, and leaves
// a readable cache behind.
TEST_F(CalibrationCacheTest, RunWarnsAboutADamagedCacheAndCarriesOn) {
  write("{\"format\": 2, \"entries\": {");
  const std::string cmd = "TRIDENT_CACHE_DIR=" + dir_.string() + " " + test::trident_binary() + " run -m " +
                          test::source_dir() + "/models/stories260K.gguf --tokens 1 -n 4 --temp 0 --json </dev/null";
  const test::CommandResult r = test::run_shell(cmd);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string warning = "trident: warning: ignoring the fusion calibration cache " + path_ + ": not well-formed JSON";
  const size_t at = r.err.find(warning);
  EXPECT_NE(at, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(warning, at + 1), std::string::npos) << "warned twice:\n" << r.err;
  EXPECT_NE(r.out.find("\"generated_ids\""), std::string::npos) << r.out;
  CalibrationCache c(path_);
  EXPECT_FALSE(c.load());
}

}  // namespace
}  // namespace trident
