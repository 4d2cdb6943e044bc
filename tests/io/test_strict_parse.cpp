#include <catch2/catch.hpp>
#include <limits>
#include <string>

#include "sinklab/io/config.hpp"
#include "sinklab/io/strict_parse.hpp"
#include "support/error_of.hpp"

using namespace sinklab;
using io::Json;

namespace {
using sinklab::test::error_of;
}  // namespace

TEST_CASE("int_from_json: integers in range, nothing rounded, truncated or wrapped", "[io][strict]") {
  CHECK(io::int_from_json(Json(7), "k", 0, 10) == 7);
  CHECK(io::int_from_json(Json(-3), "k") == -3);
  CHECK(io::int_from_json(Json(std::numeric_limits<int64_t>::max()), "k") == std::numeric_limits<int64_t>::max());
  CHECK(io::int_from_json(Json(uint64_t(5)), "k", 1, 5) == 5);
  CHECK_THAT(error_of([] { io::int_from_json(Json(1.9), "model.n_layers"); }),
             Catch::StartsWith("model.n_layers: expected an integer, got number 1.9"));
  CHECK_THAT(error_of([] { io::int_from_json(Json(2.0), "k"); }), Catch::Contains("expected an integer"));
  CHECK_THAT(error_of([] { io::int_from_json(Json(true), "k"); }), Catch::Contains("got boolean true"));
  CHECK_THAT(error_of([] { io::int_from_json(Json("3"), "k"); }), Catch::Contains("got string \"3\""));
  CHECK_THAT(error_of([] { io::int_from_json(Json(nullptr), "k"); }), Catch::Contains("got null"));
  CHECK_THAT(error_of([] { io::int_from_json(Json((int64_t(1) << 32) + 65), "id", 0, 1 << 30); }),
             Catch::StartsWith("id: 4294967361 is out of range [0, 1073741824]"));
  CHECK_THAT(error_of([] { io::int_from_json(Json(std::numeric_limits<uint64_t>::max()), "k"); }),
             Catch::Contains("18446744073709551615 is out of range"));
  CHECK_THAT(error_of([] { io::int_from_json(Json(-1), "k", 0, 9); }), Catch::Contains("-1 is out of range [0, 9]"));
  CHECK_THAT(error_of([] { io::int_from_json(Json(uint64_t(3)), "k", 4, 9); }), Catch::Contains("out of range"));
  // Long values are cut in messages.
  CHECK(error_of([] { io::int_from_json(Json(std::vector<int>(1000, 7)), "k"); }).size() < 200);
}

TEST_CASE("other JSON values by type", "[io][strict]") {
  CHECK(io::number_from_json(Json(3), "k") == 3.0);
  CHECK(io::number_from_json(Json(0.25), "k") == 0.25);
  CHECK_THAT(error_of([] { io::number_from_json(Json("0.1"), "lr"); }), Catch::StartsWith("lr: expected a number"));
  CHECK(io::bool_from_json(Json(true), "k"));
  CHECK_THAT(error_of([] { io::bool_from_json(Json(1), "flag"); }), Catch::StartsWith("flag: expected true or false"));
  CHECK(io::string_from_json(Json("x"), "k") == "x");
  CHECK_THAT(error_of([] { io::string_from_json(Json(1), "name"); }), Catch::StartsWith("name: expected a string"));
}

TEST_CASE("int_from_text and number_from_text read the whole argument", "[io][strict]") {
  CHECK(io::int_from_text("42", "--n") == 42);
  CHECK(io::int_from_text("-7", "--n") == -7);
  CHECK(io::int_from_text("9223372036854775807", "--n") == std::numeric_limits<int64_t>::max());
  for (const char* bad : {"1.9", "12abc", "", " 3", "3 ", "0x10", "1e3", "abc", "--4"})
    CHECK_THAT(error_of([&] { io::int_from_text(bad, "--seq-len"); }),
               Catch::StartsWith(std::string("--seq-len: expected an integer, got '") + bad + "'"));
  CHECK_THAT(error_of([] { io::int_from_text("18446744073709551681", "--window", 0, 100); }),  // 2^64 + 65
             Catch::StartsWith("--window: 18446744073709551681 is out of range [0, 100]"));
  CHECK_THAT(error_of([] { io::int_from_text("4294967361", "--window", 0, std::numeric_limits<int>::max()); }),
             Catch::Contains("4294967361 is out of range"));
  CHECK_THAT(error_of([] { io::int_from_text("0", "--samples", 1, 10); }),
             Catch::Contains("0 is out of range [1, 10]"));
  CHECK(io::number_from_text("0.3", "--eps") == 0.3);
  CHECK(io::number_from_text("1e-4", "--eps") == 1e-4);
  for (const char* bad : {"0.3x", "", "nan", "inf", "-inf", " 0.3", "0,3"})
    CHECK_THAT(error_of([&] { io::number_from_text(bad, "--eps"); }),
               Catch::StartsWith("--eps: expected a finite number"));
}

TEST_CASE("parse_json: file:line:col, the reason without nlohmann's prefix, and a nesting limit", "[io][strict]") {
  CHECK(io::parse_json("{\"a\": [1, {\"b\": \"[[[[\"}]}", "f.json")["a"][1]["b"] == "[[[[");
  const std::string msg = error_of([] { io::parse_json("{\n  \"a\": 1,\n  \"b\": ,\n}\n", "run.json"); });
  CHECK_THAT(msg, Catch::StartsWith("run.json:3:8: invalid JSON: syntax error") && !Catch::Contains("json.exception"));
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  CHECK_THAT(error_of([&] { io::parse_json(deep, "deep.json"); }),
             Catch::StartsWith("deep.json:1:65: invalid JSON: nested deeper than 64 levels"));
  CHECK_NOTHROW(io::parse_json(std::string(64, '[') + std::string(64, ']'), "ok.json"));
  Json cfg = Json::object();
  CHECK_THAT(error_of([&] { io::apply_override(cfg, "a=" + deep); }), Catch::Contains("nested deeper"));
}
