"""Marginal maximum likelihood calibration by EM (Bock–Aitkin) with optional priors.

Cycle
-----
E-step: ``L = Ind @ B`` (persons × nodes, see :mod:`.likelihood`), posterior weights
``W ∝ exp(L) π``, expected counts ``r = Ind.T @ W`` (items · categories × nodes).

M-step: for every item at once, Fisher scoring on the expected complete-data
log-likelihood ``Σ_q Σ_k r_qjk log P_jk(θ_q)`` (+ log prior), with gradient
``Σ_qk (r_qjk / P_qjk) ∂P_qjk/∂ψ`` and expected information
``Σ_q n_qj Σ_k ∂P ∂Pᵀ / P``. The item parameter vector is ``ψ = (a, d_1.., logit c)``.
Rasch/1PL items share one slope, updated jointly with their intercepts (arrow-shaped
Newton system). With anchor items, the latent mean and SD are estimated as well.

EM is accelerated with SQUAREM (Varadhan & Roland, 2008), falling back to the plain EM
step whenever the extrapolation lowers the log-posterior or leaves the parameter space.
Convergence: the largest parameter change of a plain EM step is below ``tol``.

Standard errors
---------------
Default ``se_method="oakes"``: observed information by Oakes' identity — the Jacobian
of the observed-data score, which by Fisher's identity is the gradient of the expected
complete-data log-posterior at the current posterior, differentiated numerically (central
differences of the analytic score). Costs two E-steps per estimated parameter. The
latent mean/SD (estimated only with anchors) are held fixed in the SE computation.
``se_method="xpd"``: cross-product of the per-person observed scores (plus prior
curvature), one pass over the responses — the choice for banks with thousands of items.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.special import betaln, expit, logit

from .data import ResponseData, as_responses
from .errors import ConvergenceWarning, EstimationError, ModelError, OptionsError
from .likelihood import Quadrature, ResponseDesign, log_probability_array, posterior
from .models import (
    COMMON_SLOPE,
    DICHOTOMOUS,
    FAMILY_DICHOTOMOUS,
    FAMILY_GRADED,
    ItemBank,
    ItemParams,
    Population,
    family_parameter_jacobian,
    family_probabilities,
    model_family,
)

_MAX_STEP = 1.0
# From this many responses on, EM cycles run their products in float32 and the fixed
# point is then polished in float64 (results and SEs are float64-accurate).
FAST_EM_MIN_RESPONSES = 200_000


# ---------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prior:
    """A prior density on one kind of item parameter.

    ``normal(mean, sd)`` for intercepts, ``lognormal(meanlog, sdlog)`` for slopes,
    ``beta(alpha, beta)`` for the lower asymptote c.
    """

    kind: str
    p1: float
    p2: float

    def __post_init__(self) -> None:
        if self.kind not in ("normal", "lognormal", "beta"):
            raise OptionsError(f"unknown prior kind {self.kind!r}")
        if self.p2 <= 0 or (self.kind == "beta" and self.p1 <= 0):
            raise OptionsError(f"invalid {self.kind} prior parameters ({self.p1}, {self.p2})")

    @classmethod
    def parse(cls, text: str) -> Prior:
        """Parse ``"normal(0,2)"``, ``"lognormal(0,0.5)"`` or ``"beta(5,17)"``."""
        try:
            kind, rest = text.strip().split("(", 1)
            p1, p2 = (float(v) for v in rest.rstrip(")").split(","))
        except ValueError:
            raise OptionsError(f"cannot parse prior {text!r}; expected e.g. beta(5,17)") from None
        return cls(kind.strip().lower(), p1, p2)


@dataclass(frozen=True)
class PriorSet:
    """Priors on slope ``a`` (lognormal), intercepts ``d`` (normal) and ``c`` (beta)."""

    a: Prior | None = None
    d: Prior | None = None
    c: Prior | None = None

    def __post_init__(self) -> None:
        for name, kind in (("a", "lognormal"), ("d", "normal"), ("c", "beta")):
            prior = getattr(self, name)
            if prior is not None and prior.kind != kind:
                raise OptionsError(f"the prior on {name} must be {kind}, got {prior.kind}")


DEFAULT_3PL_PRIORS = PriorSet(a=Prior("lognormal", 0.0, 0.5), c=Prior("beta", 5.0, 17.0))
NO_PRIORS = PriorSet()


@dataclass(frozen=True)
class CalibrationOptions:
    """Options of :func:`calibrate`.

    Attributes
    ----------
    n_quadrature, bound : rectangular grid of ``n_quadrature`` nodes on [−bound, bound]
    tol : convergence threshold on the largest parameter change of an EM cycle
    max_cycles : cap on EM cycles (a :class:`ConvergenceWarning` is issued when hit)
    priors : priors applied to every item; ``None`` means no priors except the defaults
    default_priors : apply :data:`DEFAULT_3PL_PRIORS` to 3PL items when ``priors`` is None
    se : compute standard errors
    se_method : ``"oakes"`` (observed information; two E-steps per parameter) or
        ``"xpd"`` (cross-product of person scores; one pass, for very large banks)
    accelerate : SQUAREM acceleration of EM
    m_step_iterations : Fisher-scoring iterations per M-step
    estimate_population : estimate latent mean/SD; ``None`` = only with anchor items
    """

    n_quadrature: int = 61
    bound: float = 6.0
    tol: float = 1e-4
    max_cycles: int = 2000
    priors: PriorSet | None = None
    default_priors: bool = True
    se: bool = False
    se_method: str = "oakes"
    accelerate: bool = True
    m_step_iterations: int = 2
    estimate_population: bool | None = None

    def __post_init__(self) -> None:
        if self.n_quadrature < 5:
            raise OptionsError("n_quadrature must be at least 5")
        if self.bound <= 0 or self.tol <= 0 or self.max_cycles < 1:
            raise OptionsError("bound and tol must be positive and max_cycles at least 1")
        if self.m_step_iterations < 1:
            raise OptionsError("m_step_iterations must be at least 1")
        if self.se_method not in ("oakes", "xpd"):
            raise OptionsError(f"unknown se_method {self.se_method!r}; use 'oakes' or 'xpd'")


# ---------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------


@dataclass
class CalibrationResult:
    """Outcome of :func:`calibrate`.

    Attributes
    ----------
    bank : calibrated items (anchors included, unchanged)
    population : latent distribution on the reported scale
    loglik : marginal log-likelihood at the estimates
    log_posterior : loglik plus the log prior densities
    converged, n_cycles, max_change : convergence report
    se : per item, standard errors ``{"a", "d", "b", "c"}`` or None (anchors / not asked)
    se_method : ``"oakes"`` when standard errors were computed
    population_se : SE of the estimated population SD (rasch), else None
    n_persons, n_items, n_observed : data size
    estimated : (n_items,) false for anchor items
    """

    bank: ItemBank
    population: Population
    loglik: float
    log_posterior: float
    converged: bool
    n_cycles: int
    max_change: float
    n_persons: int
    n_items: int
    n_observed: int
    estimated: np.ndarray
    se: list = field(default_factory=list)
    se_method: str | None = None
    population_se: dict | None = None

    @property
    def items(self) -> list[ItemParams]:
        return self.bank.to_items(self.se or None)


# ---------------------------------------------------------------------------------------
# Prior kernels: gradient and information on the optimization scale
# ---------------------------------------------------------------------------------------


def _prior_terms(prior: Prior | None, x: np.ndarray):
    """(log density, gradient, information) of a prior at x (elementwise)."""
    if prior is None:
        zero = np.zeros_like(x)
        return zero, zero, zero
    if prior.kind == "normal":
        z = (x - prior.p1) / prior.p2
        return -0.5 * z * z, -z / prior.p2, np.full_like(x, 1.0 / prior.p2**2)
    if prior.kind == "lognormal":
        xs = np.maximum(x, 1e-8)
        lx = np.log(xs)
        z = (lx - prior.p1) / prior.p2
        grad = -1.0 / xs - z / (prior.p2 * xs)
        return -lx - 0.5 * z * z, grad, 1.0 / (prior.p2**2 * xs * xs)
    # beta prior on c = expit(x), differentiated in x = logit c
    c = expit(x)
    al, be = prior.p1, prior.p2
    with np.errstate(divide="ignore"):
        logd = (al - 1) * np.log(c) + (be - 1) * np.log1p(-c) - betaln(al, be)
    grad = (al - 1) * (1 - c) - (be - 1) * c
    return logd, grad, (al + be - 2) * c * (1 - c)


# ---------------------------------------------------------------------------------------
# Parameter layout
# ---------------------------------------------------------------------------------------


class _Layout:
    """Maps item parameters ``psi`` (n_items, K_max + 1) to the free-parameter vector."""

    def __init__(self, models, n_cat, fixed, priors, estimate_population):
        self.models = tuple(models)
        self.n_items = len(models)
        self.kmax = int(max(n_cat))
        self.gcol = self.kmax  # column of logit c
        self.n_cat = np.asarray(n_cat)
        self.fixed = np.asarray(fixed, dtype=bool)
        free = np.zeros((self.n_items, self.kmax + 1), dtype=bool)
        for j, m in enumerate(self.models):
            if self.fixed[j]:
                continue
            free[j, 1 : self.n_cat[j]] = True
            free[j, 0] = m not in COMMON_SLOPE
            free[j, self.gcol] = m == "3pl"
        any_fixed = bool(self.fixed.any())
        self.common = np.flatnonzero([(m == "1pl" or (m == "rasch" and not any_fixed))
                                      and not f for m, f in zip(self.models, self.fixed, strict=False)])
        self.free = free
        self.priors = priors
        self.estimate_population = estimate_population
        self.groups = []
        fams = np.array([model_family(m) for m in self.models])
        for fam in np.unique(fams):
            idx = np.flatnonzero(fams == fam)
            kf = int(self.n_cat[idx].max())
            cols = np.r_[np.arange(kf), self.gcol]
            self.groups.append((int(fam), idx, kf, cols))

    @property
    def n_free(self) -> int:
        return int(self.free.sum()) + int(self.common.size > 0)

    def pack(self, psi: np.ndarray, pop=(0.0, 1.0)) -> np.ndarray:
        parts = [psi[self.free]]
        if self.common.size:
            parts.append(psi[self.common[:1], 0])
        if self.estimate_population:
            parts.append(np.asarray(pop, dtype=float))
        return np.concatenate(parts)

    def unpack(self, x: np.ndarray, template: np.ndarray):
        psi = template.copy()
        n = int(self.free.sum())
        psi[self.free] = x[:n]
        if self.common.size:
            psi[self.common, 0] = x[n]
            n += 1
        pop = (float(x[n]), float(x[n + 1])) if self.estimate_population else (0.0, 1.0)
        return psi, pop

    def bank(self, psi: np.ndarray, ids, categories) -> ItemBank:
        d = psi[:, 1 : self.kmax].copy()
        d[np.arange(self.kmax - 1)[None, :] >= (self.n_cat[:, None] - 1)] = np.nan
        c = np.where(np.array([m == "3pl" for m in self.models]), expit(psi[:, self.gcol]), 0.0)
        return ItemBank(ids=tuple(ids), models=self.models, a=psi[:, 0], d=d, c=c,
                        categories=categories)

    def valid(self, psi: np.ndarray) -> bool:
        if not np.all(np.isfinite(psi[self.free])):
            return False
        return all(not (fam == FAMILY_GRADED and not _ordered(psi[idx, 1:kf])) for fam, idx, kf, _ in self.groups)


def _ordered(d: np.ndarray) -> bool:
    diff = np.diff(d, axis=1)
    return not np.any(diff[~np.isnan(diff)] >= 0)


# ---------------------------------------------------------------------------------------
# E-step, gradients and M-step
# ---------------------------------------------------------------------------------------


class _Calibrator:
    """Holds the data, layout and quadrature of one calibration run."""

    def __init__(self, data: ResponseData, layout: _Layout, quad: Quadrature, template,
                 dtype=np.float64, m_iters: int = 2):
        self.data, self.layout, self.quad, self.template = data, layout, quad, template
        self.design = ResponseDesign(data, layout.kmax, dtype)
        self.m_iters = m_iters
        self._last = None
        self.n_e_steps = 0

    def e_step(self, psi: np.ndarray, pop):
        """Posterior weights and expected counts r, shape (nodes, items, K).

        The last result is kept: SQUAREM checks an extrapolated point with an E-step
        and, when it accepts the point, the next EM cycle starts from the same E-step.
        """
        key = (psi.tobytes(), tuple(pop), id(self.design))
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        lay = self.layout
        bank = lay.bank(psi, self.data.item_ids, self.data.categories)
        logp = log_probability_array(bank, self.quad.nodes)
        post = posterior(self.design.loglik(logp), self.quad.log_weights(*pop))
        r = self.design.counts(post.weights)
        self.n_e_steps += 1
        self._last = (key, (post, r))
        return post, r

    def grad_info(self, psi: np.ndarray, r: np.ndarray):
        """Gradient (items, K+1) and information (items, K+1, K+1) of the M-step objective."""
        lay = self.layout
        kp = lay.kmax + 1
        grad = np.zeros((lay.n_items, kp))
        info = np.zeros((lay.n_items, kp, kp))
        nodes = self.quad.nodes[:, None]
        for fam, idx, kf, cols in lay.groups:
            a, d, g = psi[idx, 0], psi[idx, 1:kf], psi[idx, lay.gcol]
            c = expit(g) if fam == FAMILY_DICHOTOMOUS else 0.0
            p = family_probabilities(fam, nodes, a, d, c)
            jac = family_parameter_jacobian(fam, nodes, a, d, c)
            rr = r[:, idx, :kf]
            g_loc = np.einsum("qjk,qjkp->jp", rr / p, jac)
            i_loc = np.einsum("qj,qjkp,qjks->jps", rr.sum(axis=2), jac / p[..., None], jac)
            grad[np.ix_(idx, cols)] = g_loc
            info[np.ix_(idx, cols, cols)] = i_loc
        self._add_priors(psi, grad, info)
        return grad, info

    def _add_priors(self, psi, grad, info) -> None:
        for j_set, col, prior in self._prior_slots():
            x = psi[j_set, col]
            _, g, h = _prior_terms(prior, x)
            grad[j_set, col] += g
            info[j_set, col, col] += h

    def _prior_slots(self):
        lay = self.layout
        for j in range(lay.n_items):
            pri = lay.priors[j]
            if pri is None or lay.fixed[j]:
                continue
            if pri.a is not None and lay.free[j, 0]:
                yield j, 0, pri.a
            if pri.d is not None:
                for col in range(1, lay.n_cat[j]):
                    yield j, col, pri.d
            if pri.c is not None and lay.free[j, lay.gcol]:
                yield j, lay.gcol, pri.c

    def log_prior(self, psi) -> float:
        total = 0.0
        for j, col, prior in self._prior_slots():
            total += float(_prior_terms(prior, np.array([psi[j, col]]))[0][0])
        return total

    def m_step(self, psi: np.ndarray, r: np.ndarray) -> np.ndarray:
        psi = psi.copy()
        for _ in range(self.m_iters):
            grad, info = self.grad_info(psi, r)
            step = _masked_newton(grad, info, self.layout.free)
            if self.layout.common.size:
                _common_slope_step(step, grad, info, self.layout.common)
            psi = self._apply_step(psi, step)
        return psi

    def _apply_step(self, psi, step):
        big = np.abs(step).max(axis=1, keepdims=True)
        step = step * np.minimum(1.0, _MAX_STEP / np.maximum(big, 1e-300))
        new = psi + step
        for fam, idx, kf, _ in self.layout.groups:
            if fam != FAMILY_GRADED:
                continue
            for _ in range(30):
                bad = _disordered_rows(new[idx, 1:kf])
                if not bad.any():
                    break
                rows = idx[bad]
                step[rows] *= 0.5
                new[rows] = psi[rows] + step[rows]
        return new


def _disordered_rows(d: np.ndarray) -> np.ndarray:
    diff = np.diff(d, axis=1)
    return np.any(np.where(np.isnan(diff), -1.0, diff) >= 0, axis=1)


def _masked_newton(grad, info, free) -> np.ndarray:
    """Solve ``info Δ = grad`` item by item over the free entries only."""
    pair = free[:, :, None] & free[:, None, :]
    mat = np.where(pair, info, 0.0)
    mat[:, np.arange(free.shape[1]), np.arange(free.shape[1])] += ~free
    rhs = np.where(free, grad, 0.0)
    try:
        return np.linalg.solve(mat, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        diag = np.maximum(np.diagonal(mat, axis1=1, axis2=2), 1e-8)
        return rhs / diag


def _common_slope_step(step, grad, info, common) -> None:
    """Joint Newton step for one shared slope and the items' intercepts (arrow system)."""
    g_a, g_d = grad[common, 0], grad[common, 1]
    i_aa, i_ad, i_dd = info[common, 0, 0], info[common, 0, 1], info[common, 1, 1]
    schur = np.sum(i_aa - i_ad**2 / i_dd)
    delta_a = np.sum(g_a - i_ad * g_d / i_dd) / max(schur, 1e-8)
    step[common, 0] = delta_a
    step[common, 1] = (g_d - i_ad * delta_a) / i_dd


# ---------------------------------------------------------------------------------------
# EM driver with SQUAREM
# ---------------------------------------------------------------------------------------


def _em_map(cal: _Calibrator, x: np.ndarray):
    """One EM cycle from x: returns (F(x), log posterior at x)."""
    lay = cal.layout
    psi, pop = lay.unpack(x, cal.template)
    post, r = cal.e_step(psi, pop)
    lp = post.loglik + cal.log_prior(psi)
    psi_new = cal.m_step(psi, r)
    if lay.estimate_population:
        nodes = cal.quad.nodes
        mean = float(np.mean(post.weights @ nodes))
        var = float(np.mean(post.weights @ (nodes - mean) ** 2))
        pop = (mean, float(np.sqrt(max(var, 1e-6))))
    return lay.pack(psi_new, pop), lp


def _run_em(cal: _Calibrator, x0: np.ndarray, opts: CalibrationOptions,
            max_cycles: int | None = None):
    """EM (optionally SQUAREM-accelerated) until the largest EM change is below tol."""
    x, cycles, change = x0, 0, np.inf
    cap = opts.max_cycles if max_cycles is None else max(max_cycles, 1)
    while cycles < cap:
        x1, lp0 = _em_map(cal, x)
        cycles += 1
        change = float(np.max(np.abs(x1 - x))) if x.size else 0.0
        if change < opts.tol:
            return x1, cycles, change, True
        if not opts.accelerate:
            x = x1
            continue
        x2, lp1 = _em_map(cal, x1)
        cycles += 1
        x = _squarem_extrapolate(cal, x, x1, x2, lp1)
    return x, cycles, change, False


def _squarem_extrapolate(cal, x0, x1, x2, lp1):
    r = x1 - x0
    v = x2 - x1 - r
    vv = float(v @ v)
    if vv <= 0:
        return x2
    alpha = min(-1.0, -np.sqrt(float(r @ r) / vv))
    xs = x0 - 2 * alpha * r + alpha * alpha * v
    psi, pop = cal.layout.unpack(xs, cal.template)
    if not cal.layout.valid(psi) or (cal.layout.estimate_population and pop[1] <= 0):
        return x2
    post, _ = cal.e_step(psi, pop)
    # float32 E-steps carry ~1e-7 relative noise per person: do not let it veto a step
    slack = abs(lp1) * (1e-6 if cal.design.dtype == np.float32 else 1e-10)
    if not np.isfinite(post.loglik) or post.loglik + cal.log_prior(psi) < lp1 - slack:
        return x2
    return xs


# ---------------------------------------------------------------------------------------
# Standard errors (Oakes)
# ---------------------------------------------------------------------------------------


def _score_vector(cal: _Calibrator, psi, pop) -> np.ndarray:
    """Observed-data score (Fisher's identity) of the free item parameters."""
    lay = cal.layout
    _, r = cal.e_step(psi, pop)
    grad, _ = cal.grad_info(psi, r)
    parts = [grad[lay.free]]
    if lay.common.size:
        parts.append([grad[lay.common, 0].sum()])
    return np.concatenate(parts)


def _observed_covariance(cal: _Calibrator, psi, pop) -> np.ndarray:
    """Inverse of the observed information (numerical Jacobian of the score)."""
    lay = cal.layout
    x = lay.pack(psi, pop)
    n = lay.n_free
    hess = np.zeros((n, n))
    for i in range(n):
        h = 1e-5 * max(1.0, abs(x[i]))
        cols = []
        for sign in (1.0, -1.0):
            xs = x.copy()
            xs[i] += sign * h
            p, pp = lay.unpack(xs, cal.template)
            cols.append(_score_vector(cal, p, pp))
        hess[:, i] = (cols[0] - cols[1]) / (2 * h)
    hess = 0.5 * (hess + hess.T)
    try:
        return np.linalg.inv(-hess)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(-hess)


def _free_index(lay: _Layout) -> np.ndarray:
    """Position of each (item, psi column) in the free-parameter vector, −1 if not free."""
    index = -np.ones(lay.free.shape, dtype=int)
    n_item_free = int(lay.free.sum())
    index[lay.free] = np.arange(n_item_free)
    if lay.common.size:
        index[lay.common, 0] = n_item_free
    return index


def _crossproduct_covariance(cal: _Calibrator, psi, pop) -> np.ndarray:
    """Inverse of the cross-product (XPD) information ``Σ_p s_p s_pᵀ`` (+ prior curvature).

    ``s_p`` is person p's observed-data score: for each answered item,
    ``Σ_q W_pq ∂ log P_jk(θ_q)/∂ψ_j``; the scores form a sparse persons × parameters
    matrix, so the cost scales with the observed responses.
    """
    lay, data = cal.layout, cal.data
    post, r = cal.e_step(psi, pop)
    index = _free_index(lay)
    nodes = cal.quad.nodes[:, None]
    rows, cols, vals = [], [], []
    order = np.lexsort((data.scores, data.items))
    items, scores, persons = data.items[order], data.scores[order], data.persons[order]
    bounds = np.flatnonzero(np.diff(items * lay.kmax + scores)) + 1
    for fam, idx, kf, pcols in lay.groups:
        a, d, g = psi[idx, 0], psi[idx, 1:kf], psi[idx, lay.gcol]
        c = expit(g) if fam == FAMILY_DICHOTOMOUS else 0.0
        p = family_probabilities(fam, nodes, a, d, c)
        dlog = family_parameter_jacobian(fam, nodes, a, d, c) / p[..., None]
        local = {int(j): n for n, j in enumerate(idx)}
        for seg in np.split(np.arange(items.size), bounds):
            j = int(items[seg[0]])
            if j not in local:
                continue
            target = index[j, pcols]
            keep = target >= 0
            grad = post.weights[persons[seg]] @ dlog[:, local[j], scores[seg[0]]][:, keep]
            rows.append(np.repeat(persons[seg], keep.sum()))
            cols.append(np.tile(target[keep], seg.size))
            vals.append(grad.ravel())
    n = lay.n_free
    scores_mat = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                               shape=(data.n_persons, n))
    info = (scores_mat.T @ scores_mat).toarray()
    _, prior_info = cal.grad_info(psi, np.zeros_like(r))  # no counts: prior curvature only
    free_diag = np.diagonal(prior_info, axis1=1, axis2=2)[lay.free]
    info[index[lay.free], index[lay.free]] += free_diag
    try:
        return np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(info)


def _item_standard_errors(lay: _Layout, psi, cov, scale: float) -> list:
    """Per-item SE dicts ``a``, ``d`` (list), ``b`` (float or list), ``c`` (delta method)."""
    index = _free_index(lay)
    out = []
    for j, model in enumerate(lay.models):
        if lay.fixed[j]:
            out.append(None)
            continue
        ia, idd = index[j, 0], index[j, 1 : lay.n_cat[j]]
        se_d = [_sd(cov, i) for i in idd]
        se = {"a": 0.0 if model == "rasch" else _sd(cov, ia) / scale, "d": se_d}
        if model == "rasch":
            se_b = se_d  # reported a = 1, so b = −d
        elif ia >= 0:
            a = psi[j, 0]
            se_b = [_delta_b(cov, ia, i, a, psi[j, 1 + k]) * scale for k, i in enumerate(idd)]
        else:
            se_b = [np.nan] * len(idd)
        se["b"] = se_b[0] if model in DICHOTOMOUS else se_b
        if model == "3pl":
            c = expit(psi[j, lay.gcol])
            se["c"] = float(c * (1 - c) * _sd(cov, index[j, lay.gcol]))
        out.append(se)
    return out


def _sd(cov, i) -> float:
    return float(np.sqrt(max(cov[i, i], 0.0)))


def _delta_b(cov, ia, idk, a, d) -> float:
    """SE of ``b = −d/a`` from the (a, d) covariance block."""
    grad = np.array([d / a**2, -1.0 / a])
    sub = cov[np.ix_([ia, idk], [ia, idk])]
    return float(np.sqrt(max(grad @ sub @ grad, 0.0)))


# ---------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------


def _resolve_models(model, data: ResponseData) -> tuple[str, ...]:
    if isinstance(model, str):
        models = [model.lower()] * data.n_items
    elif isinstance(model, Mapping):
        missing = [i for i in data.item_ids if i not in model]
        if missing:
            raise ModelError(f"no model given for item {missing[0]!r}")
        models = [str(model[i]).lower() for i in data.item_ids]
    else:
        models = [str(m).lower() for m in model]
        if len(models) != data.n_items:
            raise ModelError("give one model per item")
    for item_id, m, k in zip(data.item_ids, models, data.n_categories, strict=False):
        model_family(m)
        if m in DICHOTOMOUS and k != 2:
            raise ModelError(f"item {item_id!r} has {k} score categories; "
                             f"model {m} needs exactly 2 (use grm or gpcm)")
    return tuple(models)


def _start_values(data: ResponseData, models, lay: _Layout) -> np.ndarray:
    """Slope 1, intercepts from (cumulative) category proportions, c = 0.2 for 3PL."""
    psi = np.zeros((data.n_items, lay.kmax + 1))
    psi[:, 0] = 1.0
    psi[:, lay.gcol] = -np.inf
    counts = np.zeros((data.n_items, lay.kmax))
    np.add.at(counts, (data.items, data.scores), 1.0)
    counts += 0.5
    for j, m in enumerate(models):
        k = lay.n_cat[j]
        cj = counts[j, :k]
        if model_family(m) == 2:  # GPCM: adjacent-category log odds
            psi[j, 1:k] = np.log(cj[1:] / cj[:-1])
        else:
            tail = np.cumsum(cj[::-1])[::-1][1:] / cj.sum()
            psi[j, 1:k] = logit(np.clip(tail, 1e-4, 1 - 1e-4)) * 1.3
        if m == "3pl":
            psi[j, lay.gcol] = logit(0.2)
    return psi


def _apply_anchors(psi, lay: _Layout, data: ResponseData, anchors: ItemBank | None):
    if anchors is None:
        return
    for j in np.flatnonzero(lay.fixed):
        k = anchors.index([data.item_ids[j]])[0]
        if anchors.models[k] != lay.models[j] or anchors.n_categories[k] != lay.n_cat[j]:
            raise ModelError(f"anchor {data.item_ids[j]!r} does not match the data's item")
        psi[j, 0] = anchors.a[k]
        psi[j, 1 : lay.n_cat[j]] = anchors.d[k, : lay.n_cat[j] - 1]
        psi[j, lay.gcol] = logit(anchors.c[k]) if lay.models[j] == "3pl" else -np.inf


def calibrate(data, model: str | Mapping[str, str] | Sequence[str] = "2pl",
              options: CalibrationOptions | None = None,
              anchors: ItemBank | Sequence[ItemParams] | None = None) -> CalibrationResult:
    """Calibrate item parameters by marginal maximum likelihood (Bock–Aitkin EM).

    Parameters
    ----------
    data : ResponseData, dense array (n_persons, n_items) with NaN for not presented,
        or scipy.sparse matrix whose stored entries are the responses
    model : one model for all items, or a map item id → model, or one model per item
    options : :class:`CalibrationOptions`
    anchors : items whose parameters are held fixed (fixed-parameter calibration); the
        other items, and the latent mean/SD, are estimated on the anchors' scale

    Returns
    -------
    CalibrationResult
    """
    opts = options or CalibrationOptions()
    data = as_responses(data)
    data.validate_for_calibration()
    models = _resolve_models(model, data)
    if anchors is not None and not isinstance(anchors, ItemBank):
        anchors = ItemBank.from_items(list(anchors))
    fixed = np.array([anchors is not None and i in anchors.ids for i in data.item_ids])
    if fixed.all():
        raise EstimationError("every item is an anchor: nothing to estimate")
    est_pop = bool(fixed.any()) if opts.estimate_population is None else opts.estimate_population
    priors = [opts.priors if opts.priors is not None
              else (DEFAULT_3PL_PRIORS if (m == "3pl" and opts.default_priors) else None)
              for m in models]
    lay = _Layout(models, data.n_categories, fixed, priors, est_pop)
    template = _start_values(data, models, lay)
    _apply_anchors(template, lay, data, anchors)
    fast = data.n_observed >= FAST_EM_MIN_RESPONSES
    quad = Quadrature.grid(opts.n_quadrature, opts.bound)
    cal = _Calibrator(data, lay, quad, template, np.float32 if fast else np.float64,
                      opts.m_step_iterations)
    x, cycles, change, converged = _run_em(cal, lay.pack(template), opts)
    if fast:  # polish the float32 fixed point in float64
        cal.design = ResponseDesign(data, lay.kmax)
        x, more, change, converged = _run_em(cal, x, opts, max_cycles=opts.max_cycles - cycles)
        cycles += more
    if not converged:
        warnings.warn(f"EM did not converge in {cycles} cycles (last change {change:.2e})",
                      ConvergenceWarning, stacklevel=2)
    psi, pop = lay.unpack(x, template)
    return _finish(cal, psi, pop, cycles, change, converged, opts)


def _finish(cal: _Calibrator, psi, pop, cycles, change, converged, opts) -> CalibrationResult:
    lay, data = cal.layout, cal.data
    post, _ = cal.e_step(psi, pop)
    loglik = post.loglik
    log_post = loglik + cal.log_prior(psi)
    se, population_se = [], None
    scale = 1.0
    if "rasch" in lay.models and lay.common.size:
        scale = float(psi[lay.common[0], 0])  # rasch: report a = 1 and sd = common slope
    if opts.se:
        cov = (_observed_covariance(cal, psi, pop) if opts.se_method == "oakes"
               else _crossproduct_covariance(cal, psi, pop))
        se = _item_standard_errors(lay, psi, cov, scale)
        if scale != 1.0:
            population_se = {"sd": float(np.sqrt(max(cov[-1, -1], 0.0)))}
    bank = lay.bank(psi, data.item_ids, data.categories)
    mean, sd = pop
    if scale != 1.0:
        bank = ItemBank(bank.ids, bank.models, bank.a / scale, bank.d, bank.c, bank.categories)
        mean, sd = mean * scale, sd * scale
    return CalibrationResult(bank=bank, population=Population(mean, sd), loglik=loglik,
                             log_posterior=log_post, converged=converged, n_cycles=cycles,
                             max_change=change, n_persons=data.n_persons,
                             n_items=data.n_items, n_observed=data.n_observed,
                             estimated=~lay.fixed, se=se, population_se=population_se,
                             se_method=opts.se_method if opts.se else None)
