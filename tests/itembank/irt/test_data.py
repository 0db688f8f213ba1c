import numpy as np
import pytest
import scipy.sparse as sp

from itembank.irt.data import ResponseData, read_responses_csv
from itembank.irt.errors import DataError


def _write(tmp_path, text):
    path = tmp_path / "r.csv"
    path.write_text(text)
    return path


class TestReadResponsesCsv:
    def test_reads_person_ids_items_and_missing_cells(self, tmp_path):
        data = read_responses_csv(_write(tmp_path, "person_id,a,b\nx,1,\ny,0,2\nz,1,1\n"))
        assert data.item_ids == ("a", "b") and data.person_ids == ("x", "y", "z")
        dense = data.to_dense(raw=True)
        assert np.isnan(dense[0, 1]) and dense[1, 1] == 2
        assert data.n_observed == 5

    def test_non_integer_cell_names_row_and_column(self, tmp_path):
        with pytest.raises(DataError, match=r"row 2, column 'b'"):
            read_responses_csv(_write(tmp_path, "a,b\n1,0\n0,x\n"))

    def test_fractional_cell_is_refused(self, tmp_path):
        with pytest.raises(DataError, match=r"row 1, column 'a'"):
            read_responses_csv(_write(tmp_path, "a,b\n0.5,0\n"))

    def test_ragged_row_names_the_row(self, tmp_path):
        with pytest.raises(DataError, match=r"row 2"):
            read_responses_csv(_write(tmp_path, "a,b\n1,0\n0\n"))

    def test_group_column_is_split_off(self, tmp_path):
        data, groups = read_responses_csv(_write(tmp_path, "person_id,g,a\np,F,1\nq,M,0\n"),
                                          group_column="g")
        assert data.item_ids == ("a",) and list(groups) == ["F", "M"]


class TestResponseData:
    def test_constant_column_is_refused_for_calibration(self):
        data = ResponseData.from_dense([[1, 0], [1, 1], [1, np.nan]], item_ids=["a", "b"])
        with pytest.raises(DataError, match="column 'a'"):
            data.validate_for_calibration()

    def test_item_nobody_answered_is_refused(self):
        data = ResponseData.from_dense([[1, np.nan], [0, np.nan]], item_ids=["a", "b"])
        with pytest.raises(DataError, match="column 'b'"):
            data.validate_for_calibration()

    def test_sparse_explicit_zeros_are_observed(self):
        mat = sp.csr_matrix((np.array([0.0, 1.0, 2.0]), (np.array([0, 1, 1]), np.array([0, 0, 1]))),
                            shape=(2, 2))
        data = ResponseData.from_sparse(mat)
        assert data.n_observed == 3
        assert data.categories == ((0, 1), (2,))

    def test_categories_are_recoded_in_sorted_order(self):
        data = ResponseData.from_dense([[1, 4], [3, 2], [2, 4]])
        assert data.categories[0] == (1, 2, 3)
        assert list(data.to_dense()[:, 0]) == [0, 2, 1]

    def test_dense_and_sparse_indicators_agree(self, rng):
        x = rng.integers(0, 3, (50, 8)).astype(float)
        x[rng.random(x.shape) < 0.6] = np.nan
        dense = ResponseData.from_dense(x)
        dense.is_dense = lambda: True
        sparse = ResponseData.from_dense(x)
        sparse.is_dense = lambda: False
        assert isinstance(sparse.indicator(3), sp.csr_matrix)
        assert np.array_equal(sparse.indicator(3).toarray(), np.asarray(dense.indicator(3)))
