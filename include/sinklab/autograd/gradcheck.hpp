#pragma once
// Finite-difference gradient check (double precision). For f: inputs → Var, compares the analytic gradient of
// L = Σ w ⊙ f(inputs) (w a fixed random projection, so every output element matters) with central differences
// (L(x+h) − L(x−h)) / 2h for every element of every input that requires grad.
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "sinklab/autograd/var.hpp"

namespace sinklab::autograd {

struct GradcheckResult {
  bool ok = true;
  double max_abs_err = 0, max_rel_err = 0;
  std::string report;  // first mismatches: input, element, analytic, numeric
};

inline GradcheckResult gradcheck(const std::function<Var<double>(const std::vector<Var<double>>&)>& f,
                                 std::vector<Var<double>> inputs, double h = 1e-6, double rtol = 1e-5,
                                 double atol = 1e-7) {
  GradcheckResult res;
  // Fixed projection weights so the check does not hinge on a symmetric loss.
  Var<double> probe_out;
  {
    NoGradGuard ng;
    probe_out = f(inputs);
  }
  const Tensor<double> w = Tensor<double>::uniform(probe_out.shape(), 1234, 0.5, 1.5);
  auto loss_value = [&]() {
    NoGradGuard ng;
    const Tensor<double> y = f(inputs).value().contiguous();
    double s = 0;
    for (int64_t i = 0; i < y.numel(); ++i) s += w.data()[i] * y.data()[i];
    return s;
  };
  for (auto& in : inputs) in.zero_grad();
  Var<double> y = f(inputs);
  SINKLAB_CHECK(y.requires_grad(), "gradcheck: output does not require grad");
  y.backward(w);

  std::ostringstream rep;
  int shown = 0;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    auto& in = inputs[k];
    if (!in.requires_grad()) continue;
    Tensor<double>& x = in.mutable_value();
    SINKLAB_CHECK(x.is_contiguous(), "gradcheck: input ", k, " must be contiguous");
    const Tensor<double> analytic = in.has_grad() ? in.grad().contiguous() : Tensor<double>::zeros(x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double orig = x.data()[i];
      x.data()[i] = orig + h;
      const double lp = loss_value();
      x.data()[i] = orig - h;
      const double lm = loss_value();
      x.data()[i] = orig;
      const double numeric = (lp - lm) / (2 * h);
      const double a = analytic.data()[i];
      const double err = std::abs(a - numeric);
      res.max_abs_err = std::max(res.max_abs_err, err);
      if (std::abs(numeric) > 1e-12) res.max_rel_err = std::max(res.max_rel_err, err / std::abs(numeric));
      if (!(err <= atol + rtol * std::abs(numeric))) {
        res.ok = false;
        if (shown++ < 8)
          rep << "input " << k << " element " << i << ": analytic " << a << " numeric " << numeric << "\n";
      }
    }
  }
  res.report = rep.str();
  return res;
}

}  // namespace sinklab::autograd
