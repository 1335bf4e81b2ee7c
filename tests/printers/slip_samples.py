"""Sample slips and fixtures for the printers tests.

A plain module rather than a conftest.py: tests elsewhere do ``from conftest import …``, and
a second conftest.py here would shadow theirs in ``sys.modules``. Test files import the
fixtures they use from here.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from printers.slip import Slip

MATERIALS = [
    "公司登记（备案）申请书（法定代表人签署）原件1份",
    "公司章程（全体股东签署）原件1份",
    "股东主体资格证明或自然人身份证件复印件1份",
    "法定代表人、董事、监事和经理的任职文件原件1份",
    "住所使用证明（房产证复印件或租赁合同）1份",
]

#: 16 long items, with the punctuation that tempts a naive wrapper to start lines with “，”.
LONG_MATERIALS = [
    "《企业名称自主申报告知书》或者《名称预先核准通知书》原件1份，须在有效期内使用，逾期需重新申报",
    "法定代表人签署的《公司登记（备案）申请书》原件1份；委托代理人办理的，还应提交《指定代表或者共同委托代理人授权委托书》及被委托人身份证件复印件",
    "全体股东签署的公司章程原件1份（股东为自然人的由本人签字，自然人以外的股东加盖公章）",
    "股东的主体资格证明或者自然人身份证件复印件1份：股东为企业的，提交营业执照复印件并加盖公章；股东为事业单位法人的，提交事业单位法人证书复印件",
    "董事、监事和经理的任职文件（股东会决议由股东签署，董事会决议由董事签字）及身份证件复印件各1份",
    "法定代表人任职文件（股东会决议、董事会决议或其他相关材料）原件1份，以及法定代表人身份证件复印件1份",
    "住所使用证明：自有房产提交房屋产权证书复印件；租赁房屋提交租赁协议原件或复印件以及出租方的房屋产权证书复印件",
    "募集设立的股份有限公司提交依法设立的验资机构出具的验资证明；涉及发起人首次出资是非货币财产的，提交已办理财产权转移手续的证明文件",
    "法律、行政法规和国务院决定规定设立有限责任公司必须报经批准的，提交有关的批准文件或者许可证件复印件",
    "公司申请登记的经营范围中有法律、行政法规和国务院决定规定必须在登记前报经批准的项目，提交有关的批准文件或者许可证件的复印件",
    "外商投资企业提交经公证认证的投资者主体资格证明文件及中文译本（译文须加盖翻译机构公章）",
    "涉及国有资产的，提交国有资产监督管理机构或者本级人民政府的批准文件原件1份",
    "《承诺书》：申请人承诺所提交材料真实、合法、有效，复印件与原件一致，并对因材料虚假所引发的一切后果承担法律责任",
    "经办人身份证原件（现场核验，不收取）；代办人员须出示加盖单位公章的介绍信“原件”",
    "电子营业执照下载说明（可选）：https://zwfw.example.gov.cn/help/license-download-guide-2024.html",
    "其他材料：按照《中华人民共和国市场主体登记管理条例》及其实施细则要求需要提交的其他材料……",
]


def make_slip(**overrides) -> Slip:
    fields = dict(
        hall_name="日照市政务服务中心",
        ticket_id="371102202406110012",
        ticket_number="A012",
        matter_name="有限责任公司设立登记",
        department_name="市场监督管理局",
        windows=[("3号窗口 商事登记窗口", "张丽"), ("5号窗口 综合窗口", "")],
        waiting_ahead=5,
        issued_at=datetime(2024, 6, 11, 9, 30, 12),
        materials=list(MATERIALS),
        fees="不收费",
        matter_kind="承诺件",
        promised_days=3,
        query_code="8F3K2Q",
        progress_url="https://zwfw.rizhao.gov.cn/q/8F3K2Q",
        complaint_phone="0633-12345",
    )
    fields.update(overrides)
    return Slip(**fields)


ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts" / "slips"


@pytest.fixture
def slip() -> Slip:
    """A fresh sample slip per test (tests may change its fields)."""
    return make_slip()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where rendered slips go for a human to look at (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
