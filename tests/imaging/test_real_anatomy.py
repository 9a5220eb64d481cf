"""Anatomy, regions and exclusions on real CTs (../shared/realct, ../shared/realdata).

Expected answers come from the images and the radiologist's descriptions in
``realct/README.md`` (each was looked at as axial PNG slices), never from ectocalc's output:

* 06 — heart-level slab of an 83-year-old's chest: coronary and thoracic aortic calcium
  present; the ribs cut by the slab are bone (they were scored as lesions 100–225 mm long);
* 01 — abdomen–pelvis with TotalSegmentator's own label map: plaques of the infrarenal aortic
  wall, left renal stones;
* 02, 03 — arterial-phase CT angiograms stored as NIfTI (no tags): contrast-enhanced;
* 12 — a gated calcium-score slice at mid-ventricle with no calcification;
* realdata 03 — a 5 mm head CT (skull), realdata 04 — a head CT on a head holder: no heart,
  so no cardiac score.

The volumes are read once per module; the shared folder is never copied.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from tests.shared_dir import SHARED

from ectocalc.errors import InputError
from ectocalc.imaging import analyse, load_ct, quantify
from ectocalc.knowledge import load_knowledge
from ectocalc.scales import scan_scales

REALCT = SHARED / "realct"
REALDATA = SHARED / "realdata"
pytestmark = pytest.mark.skipif(not REALCT.is_dir(),
                                reason=f"shared real CTs not found at {REALCT}")
TS_CT = REALCT / "01_ts_example_ct" / "example_ct.nii.gz"
TS_MAP = REALCT / "01_ts_example_ct" / "anatomy" / "example_seg_fast_force_split.nii.gz"
TS_NAMES = REALCT / "01_ts_example_ct" / "anatomy" / "NAMES.json"


def _analyse(path: Path, **kwargs: object):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyse(load_ct(path), **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def heart_slab():
    return _analyse(REALCT / "06_lung1_001_heart_slab" / "lung1_001_heart.zip").result


def test_heart_slab_reports_coronary_and_aortic_calcium_not_ribs(heart_slab) -> None:
    anatomy = heart_slab.anatomy
    assert anatomy.source == "built-in" and anatomy.body_regions == ["chest"]
    assert anatomy.heart_in_field and anatomy.note is None
    regions = heart_slab.by_region
    assert list(regions) == ["coronary", "aortic_valve", "mitral_annulus", "thoracic_aorta",
                             "abdominal_aorta", "other_vascular", "non_vascular"]
    # Heavy coronary and thoracic aortic calcification in an 83-year-old (README, image).
    assert regions["coronary"].agatston > 300
    assert regions["thoracic_aorta"].agatston > 300
    assert regions["abdominal_aorta"].agatston == 0  # a chest slab
    assert regions["coronary"].by_artery is None      # the built-in model names no artery
    vascular = sum(v.agatston for k, v in regions.items() if k != "non_vascular")
    assert vascular > regions["non_vascular"].agatston
    # Ribs cut by the slab were lesions of 100-225 mm: now excluded as bone.
    assert max(x.max_diameter_mm for x in heart_slab.lesions) < 60
    assert heart_slab.excluded["bone"] >= 10
    assert set(heart_slab.excluded) == {"bone", "cartilage", "device", "noise"}
    assert heart_slab.excluded["device"] >= 1  # the table under the patient
    coronary = [x for x in heart_slab.lesions if x.region == "coronary"]
    assert coronary and all(x.type == "vascular" and x.artery is None for x in coronary)
    # CAC-DRS reads the coronary region: A3 (> 300), no vessel count without arteries.
    scales = scan_scales(heart_slab, knowledge=load_knowledge())
    assert scales is not None and scales.cac_drs.label.startswith("CAC-DRS A3")


@pytest.mark.parametrize("folder", ["02_ts_aorta_cta", "03_ts_pulm_cta"])
def test_ctas_are_recognised_from_the_image(folder: str) -> None:
    path = REALCT / folder / "ct_cropped.nii.gz"
    with pytest.raises(InputError, match="contrast-enhanced CT") as error:
        _analyse(path)
    assert error.value.field == "image"
    lumen = _analyse(path, contrast="lumen").result
    assert lumen.threshold_hu > 200  # above enhanced blood, not the plain 130 HU
    assert any("lumen-relative" in w for w in lumen.warnings)


def test_gated_slice_without_calcium_scores_no_coronary_calcium() -> None:
    result = _analyse(REALCT / "12_osirix_toutatix_noise_slice"
                      / "osirix-toutatix-100.dcm").result
    assert result.anatomy.heart_in_field and result.anatomy.body_regions == ["chest"]
    assert result.by_region["coronary"].agatston == 0
    # The ribs and the spine cut by the small cardiac field are bone, the myocardial specks
    # noise: near zero (733 were scored before the anatomy model and the noise test).
    assert result.excluded["bone"] >= 5 and result.excluded["noise"] >= 10
    assert result.agatston < 30


@pytest.mark.parametrize("folder", ["10_sbu_A048383_aorta_missed_slice",
                                    "11_sbu_A048383_aorta_found_slice"])
def test_single_slice_descending_aortic_wall_calcium_is_thoracic_aorta(folder: str) -> None:
    (path,) = (REALCT / folder).glob("*.dcm")
    result = _analyse(path).result
    assert result.anatomy.body_regions == ["chest"]
    aortic = result.by_region["thoracic_aorta"].agatston
    assert aortic > 100  # the calcified descending aortic wall (README, image)
    assert result.by_region["coronary"].agatston == 0
    assert all(x.type == "vascular" for x in result.lesions if x.region == "thoracic_aorta")


@pytest.mark.parametrize("path", [
    REALDATA / "03_philips_5mm_skull_fragment" / "S2010_5mm",
    next(iter(sorted((REALDATA / "04_ge_tilt_eq_headholder_contrast").glob("*.nii.gz"))),
         REALDATA / "missing.nii.gz"),
])
def test_head_ct_gets_no_cardiac_score_and_says_why(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not in the shared folder")
    result = _analyse(path, contrast="ignore").result
    anatomy = result.anatomy
    assert "head" in anatomy.body_regions and "chest" not in anatomy.body_regions
    assert not anatomy.heart_in_field and "heart is not in the field" in anatomy.note
    assert result.by_region["coronary"] is None
    assert not [x for x in result.lesions if x.region == "coronary"]
    assert result.excluded["bone"] >= 1  # the skull
    scales = scan_scales(result, knowledge=load_knowledge())
    assert scales is None or scales.cac_drs is None


def _regions(result) -> dict[str, float]:
    return {k: v.agatston for k, v in result.by_region.items() if v is not None}


@pytest.fixture(scope="module")
def ts_labelled():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantify(TS_CT, anatomy=TS_MAP, anatomy_names=TS_NAMES)


def test_totalsegmentator_map_puts_plaques_in_the_abdominal_aorta(ts_labelled) -> None:
    assert ts_labelled.anatomy.source == "label map (NIfTI)"
    regions = _regions(ts_labelled)
    # Infrarenal aortic wall plaques (README): abdominal, never thoracic, on this abdomen CT.
    assert regions["abdominal_aorta"] > 0 and regions["thoracic_aorta"] == 0
    aortic = [x for x in ts_labelled.lesions if x.structure == "aorta"]
    assert aortic and all(x.region == "abdominal_aorta" for x in aortic)
    # Left renal stones: dense (> 1000 HU) lesions in the left kidney, non-vascular.
    stones = [x for x in ts_labelled.lesions if x.structure == "kidney_left"]
    assert max(x.peak_hu for x in stones) > 1000
    assert all(x.region == "non_vascular" and x.type == "visceral" for x in stones)


def _write_mask_folder(folder: Path) -> None:
    """TotalSegmentator's per-structure output (``<name>.nii.gz``) of the 01 label map."""
    image = nib.load(TS_MAP)
    data = np.asarray(image.dataobj)
    names = {int(k): v for k, v in json.loads(TS_NAMES.read_text()).items()}
    folder.mkdir(parents=True, exist_ok=True)
    for value, name in names.items():
        mask = (data == value).astype(np.uint8)
        nib.save(nib.Nifti1Image(mask, image.affine), folder / f"{name}.nii.gz")


def test_label_map_folder_gives_the_same_regions(tmp_path: Path, ts_labelled) -> None:
    _write_mask_folder(tmp_path / "segmentations")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folder = quantify(TS_CT, anatomy=tmp_path / "segmentations")
    assert folder.anatomy.source == "label map (totalsegmentator folder)"
    # The same lesions are scored; classes are numbered by file name here, so a lesion
    # equally close to two classes may take the other one.
    assert folder.agatston == ts_labelled.agatston
    assert len(folder.lesions) == len(ts_labelled.lesions)
    regions = _regions(folder)
    assert regions["abdominal_aorta"] > 0 and regions["thoracic_aorta"] == 0
    same = sum(a.structure == b.structure
               for a, b in zip(folder.lesions, ts_labelled.lesions, strict=True))
    assert same >= len(folder.lesions) - 2


def test_anatomy_auto_runs_totalsegmentator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            ts_labelled) -> None:
    # A stand-in for the TotalSegmentator command (its weights cannot be downloaded here):
    # it is called as `TotalSegmentator -i CT -o DIR` and writes the real 01 masks there.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "TotalSegmentator"
    fake.write_text(f"#!{sys.executable}\n"
                    "import sys\n"
                    f"sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n"
                    "from tests.imaging.test_real_anatomy import _write_mask_folder\n"
                    "from pathlib import Path\n"
                    "args = sys.argv[1:]\n"
                    "assert Path(args[args.index('-i') + 1]).exists()\n"
                    "_write_mask_folder(Path(args[args.index('-o') + 1]))\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = quantify(TS_CT, anatomy="auto")
    assert auto.anatomy.source == "totalsegmentator (auto)"
    assert auto.agatston == ts_labelled.agatston
    assert [x.region for x in auto.lesions if x.structure == "aorta"] and all(
        x.region == "abdominal_aorta" for x in auto.lesions if x.structure == "aorta")


def test_anatomy_auto_without_totalsegmentator_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InputError, match="TotalSegmentator is not installed") as error:
        quantify(TS_CT, anatomy="auto")
    assert "\n" not in str(error.value)
