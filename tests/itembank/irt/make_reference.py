"""Regenerate reference_mirt.json from the PyPI package ``mirt`` (not run by the tests).

    .venv/bin/pip install mirt==1.2.0
    .venv/bin/python tests/itembank/irt/make_reference.py

Fits with 61 quadrature points, tol 1e-6 (EM), Oakes SEs, and scores/item fit with
61 points; the tests compare skillcert to these numbers within 0.01.
"""

import json
from pathlib import Path

import mirt
import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "data" / "responses"


def _load(name):
    rows = (DATA / f"{name}.csv").read_text().splitlines()
    return np.array([[float(v) if v else np.nan for v in r.split(",")[1:]] for r in rows[1:]])


def _recode(x):
    """Observed values of each column → 0..m in sorted order (as R's mirt does)."""
    out = np.full_like(x, np.nan)
    for j in range(x.shape[1]):
        seen = ~np.isnan(x[:, j])
        out[seen, j] = np.searchsorted(np.unique(x[seen, j]), x[seen, j])
    return out


def _fit(x, model):
    res = mirt.fit_mirt(x, model=model, n_quadpts=61, tol=1e-6, max_iter=5000,
                        se_method="oakes")
    out = {"loglik": float(res.log_likelihood), "mirt_version": mirt.__version__}
    out["parameters"] = {k: np.asarray(v).tolist() for k, v in res.model.parameters.items()}
    out["se"] = {k: np.asarray(v).tolist() for k, v in res.standard_errors.items()}
    return res, out


def main():
    # mirt returns item fit as a DataFrame; keep the plain dict (no pandas needed)
    import mirt.utils.dataframe as frames

    frames.create_dataframe = lambda stats, **_: stats
    ref = {}
    cases = (("lsat7", "2PL"), ("lsat6", "2PL"), ("science", "GRM"),
             ("conspiracist_beliefs", "GPCM"))
    for name, model in cases:
        x = _recode(_load(name))
        res, out = _fit(x, model)
        eap = mirt.fscores(res, x, method="EAP", n_quadpts=61)
        out["eap_first10"] = np.asarray(eap.theta).ravel()[:10].tolist()
        out["eap_se_first10"] = np.asarray(eap.standard_error).ravel()[:10].tolist()
        out["missing"] = bool(np.isnan(x).any())
        if not out["missing"]:  # S-X² on complete patterns only
            fit = mirt.itemfit(res, x, statistics=["S_X2"], n_quadpts=61)
            out["itemfit"] = {str(k): np.asarray(v).tolist() for k, v in dict(fit).items()}
        ref[f"{name}_{model.lower()}"] = out
    (HERE / "reference_mirt.json").write_text(json.dumps(ref, indent=1))


if __name__ == "__main__":
    main()
