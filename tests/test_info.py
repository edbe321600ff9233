"""Discrete and Gaussian information quantities checked against the mathematics (all in nats)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangled.info import (
    conditional_entropy,
    cross_entropy,
    discrete_kl_to_uniform,
    discrete_mutual_information,
    entropy,
    entropy_from_logits,
    entropy_log,
    gaussian_entropy,
    gaussian_log_density,
    joint_entropy,
    kl_categorical_uniform,
    kl_categorical_uniform_probs,
    kl_diag_gaussians,
    kl_divergence,
    kl_divergence_log,
    kl_normal_std,
    mutual_information,
)

F64 = torch.float64
INF = math.inf
HYP = settings(max_examples=60, deadline=None, derandomize=True, database=None)

# ----------------------------------------------------------------------------- strategies

_weight = st.one_of(st.just(0.0), st.floats(1e-6, 1.0))


def _normalised(weights: list[float]) -> torch.Tensor:
    t = torch.tensor(weights, dtype=F64)
    return t / t.sum()


@st.composite
def prob_vectors(draw, k: int | None = None, min_k: int = 1, max_k: int = 8) -> torch.Tensor:
    """A probability vector of length k (drawn if None), possibly with exact zeros."""
    k = draw(st.integers(min_k, max_k)) if k is None else k
    w = draw(st.lists(_weight, min_size=k, max_size=k).filter(lambda v: sum(v) > 0))
    return _normalised(w)


@st.composite
def prob_pairs(draw, full_support_q: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    k = draw(st.integers(1, 8))
    p = draw(prob_vectors(k))
    if full_support_q:
        q = _normalised(draw(st.lists(st.floats(1e-4, 1.0), min_size=k, max_size=k)))
    else:
        q = draw(prob_vectors(k))
    return p, q


@st.composite
def joint_tables(draw) -> torch.Tensor:
    """A nonnegative (X, Y) table with some exact zeros, normalised."""
    x, y = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    w = draw(st.lists(_weight, min_size=x * y, max_size=x * y).filter(lambda v: sum(v) > 0))
    return _normalised(w).reshape(x, y)


def _random_simplex(rng: np.random.Generator, shape: tuple[int, ...], zeros: bool) -> torch.Tensor:
    """Rows of Dirichlet(1) draws along the last dim, optionally with random exact zeros."""
    w = rng.exponential(size=shape)
    if zeros:
        w = w * (rng.random(shape) > 0.3)
        w[..., 0] += (w.sum(-1) == 0) * 1.0  # keep every row normalisable
    return torch.from_numpy(w / w.sum(-1, keepdims=True))


# ----------------------------------------------------------------------------- entropy


@HYP
@given(prob_vectors())
def test_entropy_bounds_and_zeros(p: torch.Tensor) -> None:
    h = entropy(p)
    assert torch.isfinite(h)
    assert -1e-12 <= h.item() <= math.log(p.numel()) + 1e-12
    # zero-probability outcomes contribute nothing: dropping them leaves H unchanged
    assert torch.allclose(h, entropy(p[p > 0]), atol=1e-14)


@HYP
@given(prob_vectors())
def test_entropy_log_space_versions_agree(p: torch.Tensor) -> None:
    log_p = torch.log(p)  # -inf where p = 0
    assert torch.allclose(entropy_log(log_p), entropy(p), atol=1e-12)
    # logits = log p + any constant give the same distribution
    assert torch.allclose(entropy_from_logits(log_p + 3.7), entropy(p), atol=1e-12)


def test_entropy_known_values_and_dim() -> None:
    assert entropy(torch.full((5,), 0.2, dtype=F64)).item() == pytest.approx(math.log(5))
    assert entropy(torch.tensor([0.0, 1.0, 0.0], dtype=F64)).item() == 0.0
    p = _random_simplex(np.random.default_rng(0), (4, 6), zeros=True)
    assert entropy(p).shape == (4,)
    assert torch.allclose(entropy(p.T, dim=0), entropy(p))


def test_entropy_from_logits_is_stable_for_extreme_logits() -> None:
    logits = torch.tensor([[1e4, 0.0, -1e4], [0.0, -INF, 0.0]], dtype=F64, requires_grad=True)
    h = entropy_from_logits(logits)
    assert torch.allclose(h, torch.tensor([0.0, math.log(2)], dtype=F64), atol=1e-12)
    h.sum().backward()
    assert torch.isfinite(logits.grad).all()


# ----------------------------------------------------------------------------- KL, cross-entropy


@HYP
@given(prob_pairs(full_support_q=True))
def test_kl_nonnegative_zero_only_for_equal_pinsker(pq: tuple[torch.Tensor, torch.Tensor]) -> None:
    p, q = pq
    kl = kl_divergence(p, q).item()
    # Pinsker: KL >= ½‖p − q‖₁², so KL = 0 forces p = q
    assert kl >= 0.5 * (p - q).abs().sum().item() ** 2 - 1e-12
    assert kl_divergence(p, p).item() == pytest.approx(0.0, abs=1e-15)
    assert kl_divergence(q, q).item() == pytest.approx(0.0, abs=1e-15)


@HYP
@given(prob_pairs())
def test_kl_support_rules_and_cross_entropy(pq: tuple[torch.Tensor, torch.Tensor]) -> None:
    p, q = pq
    kl, ce = kl_divergence(p, q), cross_entropy(p, q)
    assert not torch.isnan(kl) and not torch.isnan(ce)
    if ((p > 0) & (q == 0)).any():
        assert kl.item() == INF and ce.item() == INF
    else:
        assert torch.isfinite(kl) and kl.item() >= -1e-12
        # H(p, q) = H(p) + KL(p || q)
        assert ce.item() == pytest.approx((entropy(p) + kl).item(), abs=1e-12)
    assert torch.allclose(kl_divergence_log(torch.log(p), torch.log(q)), kl, atol=1e-12)


def test_kl_batched_matches_rows() -> None:
    rng = np.random.default_rng(1)
    p, q = _random_simplex(rng, (3, 5, 4), zeros=True), _random_simplex(rng, (3, 5, 4), False)
    kl = kl_divergence(p, q)
    assert kl.shape == (3, 5)
    for i in range(3):
        for j in range(5):
            assert kl[i, j] == pytest.approx(kl_divergence(p[i, j], q[i, j]).item(), abs=1e-14)
    assert torch.allclose(kl_divergence(p.transpose(0, 2), q.transpose(0, 2), dim=0), kl.T)


@HYP
@given(st.lists(st.floats(-30.0, 30.0), min_size=1, max_size=10))
def test_kl_categorical_uniform(logits_list: list[float]) -> None:
    logits = torch.tensor(logits_list, dtype=F64)
    k = logits.numel()
    alpha = torch.softmax(logits, -1)
    kl = kl_categorical_uniform(logits)
    assert -1e-12 <= kl.item() <= math.log(k) + 1e-12
    assert kl.item() == pytest.approx(math.log(k) - entropy(alpha).item(), abs=1e-10)
    uniform = torch.full_like(alpha, 1.0 / k)
    assert kl.item() == pytest.approx(kl_divergence(alpha, uniform).item(), abs=1e-10)
    assert kl_categorical_uniform_probs(alpha).item() == pytest.approx(kl.item(), abs=1e-10)


def test_kl_categorical_uniform_extremes() -> None:
    logits = torch.tensor([[0.0, 0.0, 0.0, 0.0], [1e4, 0.0, 0.0, -INF]], dtype=F64)
    kl = kl_categorical_uniform(logits)
    assert torch.allclose(kl, torch.tensor([0.0, math.log(4)], dtype=F64), atol=1e-12)
    assert kl_categorical_uniform(logits.T, dim=0).shape == (2,)


# ----------------------------------------------------------------------------- joint tables


@HYP
@given(joint_tables())
def test_mutual_information_identities(joint: torch.Tensor) -> None:
    p_x, p_y = joint.sum(1), joint.sum(0)
    h_x, h_y, h_xy = entropy(p_x), entropy(p_y), joint_entropy(joint)
    mi = mutual_information(joint)
    assert not torch.isnan(mi)
    # I = H(X) + H(Y) − H(X, Y) = KL(p(x, y) || p(x) p(y))
    assert mi.item() == pytest.approx((h_x + h_y - h_xy).item(), abs=1e-10)
    product = torch.outer(p_x, p_y)
    assert mi.item() == pytest.approx(kl_divergence(joint.flatten(), product.flatten()).item())
    assert -1e-15 <= mi.item() <= min(h_x.item(), h_y.item()) + 1e-10
    # chain rule H(X, Y) = H(X) + H(Y | X); conditioning does not increase entropy
    h_y_x = conditional_entropy(joint)
    assert h_xy.item() == pytest.approx((h_x + h_y_x).item(), abs=1e-10)
    assert h_y_x.item() <= h_y.item() + 1e-10
    assert mi.item() == pytest.approx((h_y - h_y_x).item(), abs=1e-10)


@HYP
@given(joint_tables(), st.floats(0.01, 1000.0))
def test_joint_functions_normalise_counts(joint: torch.Tensor, scale: float) -> None:
    counts = joint * scale
    assert mutual_information(counts).item() == pytest.approx(mutual_information(joint).item())
    assert joint_entropy(counts).item() == pytest.approx(joint_entropy(joint).item())
    assert conditional_entropy(counts).item() == pytest.approx(conditional_entropy(joint).item())


def test_mutual_information_known_cases() -> None:
    rng = np.random.default_rng(2)
    p_x, p_y = _random_simplex(rng, (4,), True), _random_simplex(rng, (6,), False)
    assert mutual_information(torch.outer(p_x, p_y)).item() == pytest.approx(0.0, abs=1e-14)
    assert mutual_information(torch.eye(5, dtype=F64)).item() == pytest.approx(math.log(5))
    batch = _random_simplex(rng, (3, 2, 12), True).reshape(3, 2, 3, 4)
    mi = mutual_information(batch)
    assert mi.shape == (3, 2)
    assert mi[1, 1].item() == pytest.approx(mutual_information(batch[1, 1]).item())


# ------------------------------------------------- KL decomposition on discrete joints (exact)


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 7),
    st.integers(1, 7),
    st.booleans(),
    st.booleans(),
)
def test_kl_decomposition_exact_on_discrete_joints(
    seed: int, n_x: int, n_z: int, uniform_x: bool, zeros: bool
) -> None:
    """E_x KL(q(z|x) || p(z)) = I(x; z) + KL(q(z) || p(z)), exactly."""
    rng = np.random.default_rng(seed)
    p_x = torch.full((n_x,), 1.0 / n_x, dtype=F64) if uniform_x else _random_simplex(rng, (n_x,), 0)
    q_z_x = _random_simplex(rng, (n_x, n_z), zeros)
    p_z = _random_simplex(rng, (n_z,), False)  # full support, so every term is finite
    joint = p_x[:, None] * q_z_x
    q_z = joint.sum(0)
    lhs = (p_x * kl_divergence(q_z_x, p_z)).sum()
    rhs = mutual_information(joint) + kl_divergence(q_z, p_z)
    assert lhs.item() == pytest.approx(rhs.item(), abs=1e-6, rel=0)
    assert abs(lhs.item() - rhs.item()) < 1e-12
    if uniform_x:
        assert discrete_mutual_information(q_z_x).item() == pytest.approx(
            mutual_information(joint).item(), abs=1e-12
        )


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(1, 4), st.integers(1, 4))
def test_total_correlation_decomposition_exact(seed: int, n_x: int, n_a: int, n_b: int) -> None:
    """KL(q(z) || p(z1) p(z2)) = TC + Σ_d KL(q(z_d) || p(z_d)) for a two-part discrete code."""
    rng = np.random.default_rng(seed)
    p_x = _random_simplex(rng, (n_x,), False)
    q_z_x = _random_simplex(rng, (n_x, n_a * n_b), True).reshape(n_x, n_a, n_b)
    p_a, p_b = _random_simplex(rng, (n_a,), False), _random_simplex(rng, (n_b,), False)
    q_z = (p_x[:, None, None] * q_z_x).sum(0)
    kl_qz_pz = kl_divergence(q_z.flatten(), torch.outer(p_a, p_b).flatten())
    tc = mutual_information(q_z)
    dwkl = kl_divergence(q_z.sum(1), p_a) + kl_divergence(q_z.sum(0), p_b)
    assert abs(kl_qz_pz.item() - (tc + dwkl).item()) < 1e-12


def test_discrete_code_information() -> None:
    rng = np.random.default_rng(3)
    probs = _random_simplex(rng, (50, 6), True)
    mi = discrete_mutual_information(probs)
    marginal = probs.mean(0)
    expected = entropy(marginal) - entropy(probs).mean()
    assert mi.item() == pytest.approx(expected.item(), abs=1e-12)
    assert 0.0 <= mi.item() <= math.log(6)
    # a deterministic code using all K classes equally carries log K; a constant code carries 0
    assert discrete_mutual_information(torch.eye(6, dtype=F64)).item() == pytest.approx(math.log(6))
    same = probs[:1].expand(10, 6)
    assert discrete_mutual_information(same).item() == pytest.approx(0.0, abs=1e-14)
    kl_u = discrete_kl_to_uniform(probs)
    assert kl_u.item() == pytest.approx((math.log(6) - entropy(probs)).mean().item(), abs=1e-12)
    # mean KL to uniform = I(x; c) + KL(q(c) || uniform) (decomposition with a uniform prior)
    uniform = torch.full((6,), 1 / 6, dtype=F64)
    assert kl_u.item() == pytest.approx((mi + kl_divergence(marginal, uniform)).item(), abs=1e-12)
    batched = discrete_mutual_information(
        torch.stack([probs, torch.eye(6, dtype=F64).repeat(9, 1)[:50]])
    )
    assert batched.shape == (2,)
    assert batched[0].item() == pytest.approx(mi.item())


# ----------------------------------------------------------------------------- Gaussians


def _params(seed: int, shape: tuple[int, ...]) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    mu_q, mu_p = (
        torch.randn(shape, generator=g, dtype=F64),
        torch.randn(shape, generator=g, dtype=F64),
    )
    lv_q, lv_p = (
        torch.randn(shape, generator=g, dtype=F64),
        torch.randn(shape, generator=g, dtype=F64),
    )
    return mu_q, lv_q, mu_p, lv_p


def test_gaussian_log_density_matches_torch_distributions() -> None:
    mu, lv, x, _ = _params(4, (5, 3))
    expected = torch.distributions.Normal(mu, torch.exp(0.5 * lv)).log_prob(x)
    assert torch.allclose(gaussian_log_density(x, mu, lv), expected, atol=1e-12)
    # broadcasting: (M, 1, D) samples against (1, N, D) posteriors
    out = gaussian_log_density(x[:, None, :], mu[None], lv[None])
    assert out.shape == (5, 5, 3)
    assert torch.allclose(out[2, 4], gaussian_log_density(x[2], mu[4], lv[4]))
    std = gaussian_log_density(x, 0.0, 0.0)
    assert torch.allclose(std, -0.5 * (math.log(2 * math.pi) + x.pow(2)))


def test_kl_diag_gaussians_closed_form_against_monte_carlo() -> None:
    """Closed form within 5 Monte Carlo standard errors of E_q[log q − log p] (200 000 draws)."""
    mu_q, lv_q, mu_p, lv_p = _params(5, (6,))
    n = 200_000
    g = torch.Generator().manual_seed(6)
    x = mu_q + torch.exp(0.5 * lv_q) * torch.randn(n, 6, generator=g, dtype=F64)
    log_ratio = gaussian_log_density(x, mu_q, lv_q) - gaussian_log_density(x, mu_p, lv_p)
    mc, se = log_ratio.mean(0), log_ratio.std(0) / math.sqrt(n)
    closed = kl_diag_gaussians(mu_q, lv_q, mu_p, lv_p)
    assert ((closed - mc).abs() < 5 * se).all(), (closed, mc, se)
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu_q, torch.exp(0.5 * lv_q)),
        torch.distributions.Normal(mu_p, torch.exp(0.5 * lv_p)),
    )
    assert torch.allclose(closed, ref, atol=1e-12)


def test_gaussian_entropy_against_monte_carlo() -> None:
    lv = torch.tensor([-3.0, 0.0, 2.5], dtype=F64)
    mu = torch.tensor([1.0, -2.0, 0.0], dtype=F64)
    n = 200_000
    g = torch.Generator().manual_seed(7)
    x = mu + torch.exp(0.5 * lv) * torch.randn(n, 3, generator=g, dtype=F64)
    neg_log_q = -gaussian_log_density(x, mu, lv)
    mc, se = neg_log_q.mean(0), neg_log_q.std(0) / math.sqrt(n)
    assert ((gaussian_entropy(lv) - mc).abs() < 5 * se).all()
    expected = torch.distributions.Normal(mu, torch.exp(0.5 * lv)).entropy()
    assert torch.allclose(gaussian_entropy(lv), expected, atol=1e-12)


@HYP
@given(st.floats(-5, 5), st.floats(-8, 8), st.floats(-5, 5), st.floats(-8, 8))
def test_kl_diag_gaussians_nonnegative_zero_iff_equal(
    mu_q: float, lv_q: float, mu_p: float, lv_p: float
) -> None:
    t = [torch.tensor([v], dtype=F64) for v in (mu_q, lv_q, mu_p, lv_p)]
    kl = kl_diag_gaussians(*t).item()
    assert kl >= 0.0
    assert kl_diag_gaussians(t[0], t[1], t[0], t[1]).item() == 0.0
    # Pinsker-type lower bound for Gaussians with equal variance: KL = (Δμ)² / (2σ²)
    same_var = kl_diag_gaussians(t[0], t[3], t[2], t[3]).item()
    assert same_var == pytest.approx((mu_q - mu_p) ** 2 / (2 * math.exp(lv_p)), rel=1e-12, abs=0)


def test_kl_normal_std() -> None:
    mu, lv, _, _ = _params(8, (4, 3))
    kl = kl_normal_std(mu, lv)
    assert kl.shape == (4, 3)
    assert torch.allclose(kl, kl_diag_gaussians(mu, lv, 0.0, 0.0), atol=1e-14)
    assert torch.allclose(kl, 0.5 * (mu.pow(2) + lv.exp() - 1 - lv), atol=1e-12)
    zero = torch.zeros(2, 3)
    assert (kl_normal_std(zero, zero) == 0).all()
    # accurate and nonnegative near σ² = 1 even in float32 (½(e^v − 1 − v) ≈ v²/4)
    tiny = torch.tensor([1e-4, -1e-4, 1e-6], dtype=torch.float32)
    kl_tiny = kl_normal_std(torch.zeros(3), tiny)
    assert (kl_tiny >= 0).all()
    assert torch.allclose(kl_tiny, tiny.double().pow(2).float() / 4, rtol=1e-3)
