"""The Annex 2 form (附件2 申报表) as the annex lays it out: each field's label in its Chinese,
the headings, and the table row by row — what the printed form for the signed and sealed paper
copies follows. The console keeps its own copy of the labels (web/annex2.py: web and the
services share no code); tests/contracts/test_annex2_labels.py checks that the two agree.
"""

from __future__ import annotations

TITLE = "中国科协海智计划工作基地申报表"
ANNEX = "附件2"

LABELS: dict[str, str] = {
    "base_location": "基地所在地",
    "host_unit": "承担单位",
    "address": "单位地址",
    "telephone": "电话",
    "fax": "传真",
    "contact_person": "常设联系人",
    "email": "电子信箱",
    "postcode": "邮编",
    "overview_basic_conditions": "1. 基础条件",
    "overview_advantages": "2. 优势",
    "overview_description": "3. 情况简述",
    "overview_expected_goals": "4. 预期目标",
    "office_space": "办公场地",
    "matching_funds_wan": "配套资金",
    "self_raised_funds_wan": "自筹资金",
    "opinion_text": "填表单位意见",
    "opinion_responsible_person": "负责人签字",
    "opinion_title": "职务",
    "opinion_date": "年 月 日",
    "declares_organisation": "第六条(一) 组织机构",
    "declares_overseas_channels": "第六条(二) 海外渠道",
    "declares_government_support": "第六条(三) 政府支持",
}

OVERVIEW, FUNDS, ART6 = "概述", "资金情况（万元）", "申报条件（第六条）"

#: The table, row by row: a heading (a string), or one or two fields side by side (a tuple).
LAYOUT: tuple[str | tuple[str, ...], ...] = (
    ("base_location",),
    ("host_unit",),
    ("address",),
    ("telephone", "fax"),
    ("contact_person", "email"),
    ("postcode", "office_space"),
    OVERVIEW,
    ("overview_basic_conditions",),
    ("overview_advantages",),
    ("overview_description",),
    ("overview_expected_goals",),
    FUNDS,
    ("matching_funds_wan", "self_raised_funds_wan"),
    ("opinion_text",),
    ("opinion_responsible_person", "opinion_title"),
    ("opinion_date",),
    ART6,
    ("declares_organisation",),
    ("declares_overseas_channels",),
    ("declares_government_support",),
)
