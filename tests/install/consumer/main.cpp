// A user's program: fits y = 3x with one parameter through the installed headers.
#include <sinklab/autograd.hpp>
int main() {
  using namespace sinklab;
  autograd::Var<double> w(Tensor<double>::zeros({1}), true);
  const autograd::Var<double> x(Tensor<double>::from({4}, {1, 2, 3, 4})), y(Tensor<double>::from({4}, {3, 6, 9, 12}));
  for (int step = 0; step < 200; ++step) {
    w.zero_grad();
    autograd::mean(autograd::pow(autograd::sub(autograd::mul(x, w), y), 2.0)).backward();
    w.mutable_value().data()[0] -= 0.05 * w.grad().data()[0];
  }
  return std::abs(w.value().data()[0] - 3.0) < 1e-6 ? 0 : 1;
}
