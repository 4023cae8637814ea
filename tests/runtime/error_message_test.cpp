// error_line: every exception becomes the one line main and agree() print.
#include "runtime/error_message.h"

#include <gtest/gtest.h>

#include <new>

#include "runtime/error.h"

namespace sprout::runtime {
namespace {

TEST(ErrorMessage, LibTorchErrorsLoseTheirBacktrace) {
  try {
    TORCH_CHECK(false, "shapes differ\n  first line of detail");
    FAIL() << "TORCH_CHECK did not throw";
  } catch (const std::exception& e) {
    const std::string line = error_line(e);
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    EXPECT_NE(line.find("shapes differ; first line of detail"), std::string::npos) << line;
    EXPECT_FALSE(is_allocation_failure(e));
  }
}

TEST(ErrorMessage, AnImpossibleAllocationIsOneOutOfMemoryLine) {
  try {
    auto t = torch::empty({int64_t{1} << 50}, torch::kFloat32);  // 4 PiB
    FAIL() << "allocated " << t.numel() << " elements";
  } catch (const std::exception& e) {
    ASSERT_TRUE(is_allocation_failure(e)) << e.what();
    const std::string line = error_line(e);
    EXPECT_EQ(line.rfind("out of memory: ", 0), 0u) << line;
    EXPECT_NE(line.find("4503599627370496 bytes"), std::string::npos) << line;  // what was asked for
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  }
  const std::bad_alloc plain;
  EXPECT_TRUE(is_allocation_failure(plain));
  EXPECT_EQ(error_line(plain).rfind("out of memory", 0), 0u) << error_line(plain);
}

TEST(ErrorMessage, SproutErrorsAreUnchanged) {
  const ConfigError e("--model.widths: every width must be > 0, got 0");
  EXPECT_EQ(error_line(e), e.what());
  EXPECT_FALSE(is_allocation_failure(e));
}

}  // namespace
}  // namespace sprout::runtime
