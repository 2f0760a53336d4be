"""The answer key, written by hand from the text (linkage-mechanism.txt), not from the YAML.

For every numbered duty of section 二 (and 三（二）) that describes a matter a resident can report:
who handles it and who takes part, as the text names them. Each entry quotes the words it rests
on; the test checks the quote is in the text, so the key cannot drift from it.

Places (tests/support.py): ``with`` = an estate with a property company and an owners'
committee, ``without`` = an estate with neither, ``road`` = in a community but in no estate.

Where the text names several departments for one item (8.6: 规划、住房城乡建设、房管、公安、消防、
环保…), the key lists the matter per department, by the type code the taxonomy gives that matter;
the key still says which department the text names for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TOWN, COMMUNITY = "town_government", "community_committee"
COMPANY = "property_company"


@dataclass(frozen=True)
class Entry:
    quote: str
    """Words of the text this entry rests on (must occur verbatim)."""
    handler: str
    """The party that handles the matter (at an estate with a company, unless overridden)."""
    participants: frozenset[str] = frozenset()
    """Parties the text names as taking part (besides the always-present 属地 town)."""
    by_place: dict[str, str] = field(default_factory=dict)
    """Handler at a place where it differs (``without`` / ``road`` / ``with``)."""
    escalation: str | None = None
    """Who takes over when the handler cannot settle it in time."""
    never: frozenset[str] = frozenset()
    """Parties the text says must not lead (e.g. one that only assists, 配合)."""

    def handler_at(self, place: str) -> str:
        return self.by_place.get(place, self.handler)


def _agency(party: str, quote: str) -> Entry:
    return Entry(quote=quote, handler=party)


def _dispute(party: str, quote: str) -> Entry:
    # 调解处理因上述内容引起的矛盾纠纷 by the agency; the community handles property disputes under
    # the town's guidance (10.2) and the town mediates them (9.3): both take part.
    return Entry(quote=quote, handler=party, participants=frozenset({COMMUNITY, TOWN}))


HSC, HC, UM, PS = (
    "housing_service_center",
    "housing_construction",
    "urban_management",
    "public_security",
)
PL, EP, PB, MR = "planning", "environmental_protection", "price_bureau", "market_regulation"

#: Numbered duty -> the answer. For items naming several departments: duty -> {type code: Entry}.
KEY: dict[str, Entry | dict[str, Entry]] = {
    "1.1": _agency(HSC, "对物业企业擅自撤离物业管理区域、停止物业服务"),
    "1.2": _agency(HSC, "挪用专项维修资金的行为进行查处"),
    "1.3": _agency(HSC, "未通过招投标的方式选聘物业服务企业"),
    "1.4": _agency(HSC, "擅自处分属于业主的物业共用部位"),
    "1.5": _agency(HSC, "室内装饰装修活动侵占公共空间"),
    "1.6": _agency(HSC, "建设单位不履行保修义务"),
    "1.7": _dispute(HSC, "调解处理因上述内容引起的矛盾纠纷"),
    "2.1": _agency(HC, "擅自将房屋交付购房人使用"),
    "2.2": _agency(HC, "阳台改为卫生间、厨房"),
    "2.3": _agency(HC, "擅自拆改承重墙"),
    "2.4": _agency(HC, "施工单位不履行保修义务"),
    "2.5": _agency(HC, "擅自拆改供暖、供气管道"),
    "2.6": _dispute(HC, "调解处理因上述内容引起的矛盾纠纷"),
    "3.1": _agency(UM, "擅自占用物业管理区域内业主共有的道路、绿地"),
    "3.2": _agency(UM, "对违章搭建建筑物、构筑物"),
    "3.3": _agency(UM, "张贴广告、涂写刻画广告性文字"),
    "3.4": _agency(UM, "擅自改变已经建成并投入使用的建筑物、构筑物使用性质"),
    "3.5": _agency(UM, "擅自占用、破坏绿化用地和设施建造车位"),
    "3.6": _agency(UM, "擅自损坏、修剪、砍伐花草树木"),
    "3.7": _agency(UM, "其他违反城市管理法规的行为进行查处"),
    "3.8": _dispute(UM, "调解处理因上述内容引起的矛盾纠纷"),
    "4.1": _agency(PS, "埋压、圈占、遮挡消防栓"),
    "4.2": _agency(PS, "占用、堵塞、封闭疏散通道、消防车通道"),
    "4.3": _agency(PS, "产生噪声干扰他人正常休息生活"),
    "4.4": _agency(PS, "破坏业主共有部位、共用设施、设备及其他公私财物"),
    "4.5": _agency(PS, "违规存放有毒、易燃易爆物品"),
    "4.6": _agency(PS, "违规燃放烟花、爆竹"),
    "4.7": _agency(PS, "打架斗殴、聚众赌博"),
    "4.8": _agency(PS, "违反保安监管法律法规的行为依法进行查处"),
    "6.1": _agency(EP, "造成辐射污染的行为进行制止和查处"),
    "6.2": _agency(EP, "对破坏生态环境的行为进行制止和查处"),
    "6.3": _dispute(EP, "调解处理因上述问题引起的矛盾纠纷"),
    "7.1": _agency(PB, "未按规定实行明码标价"),
    "7.2": _agency(PB, "超出政府指导价浮动幅度"),
    "7.3": _agency(PB, "低于服务等级要求提供服务并收费"),
    "7.4": _agency(PB, "分解收费项目、重复收费"),
    "7.5": _agency(PB, "强制或者变相强制服务并收费"),
    "7.6": _agency(PB, "依法受理相关价格举报投诉"),
    "7.7": _agency(PB, "其他违反价格法律、法规的行为"),
    "8.1": _agency(MR, "电梯等特种设备和电表、水表等各类计量装置"),
    "8.2": _agency(MR, "对超期未检、不按规定维保的行为进行查处"),
    # 会同…物业服务企业等责任单位: the estate's company takes part where there is one.
    "8.3": Entry(
        quote="会同电梯维保单位、电梯生产厂家、物业服务企业等责任单位",
        handler=MR,
        participants=frozenset({COMPANY}),
    ),
    "8.4": _agency(MR, "对使用不符合安全技术规范电梯的行为进行查处"),
    "8.5": _agency(MR, "未及时采取必要应急救援措施的行为"),
    # 由国土资源、规划、住房城乡建设、房管、文化、卫生计生、公安、消防、环保等部门依法监管 — never
    # market regulation; illegal buildings are planning's, which hands what it finds inside estates
    # to urban management (5.3: 在物业管理区域内发现的违法违规行为，将及时移交市城市管理局).
    "8.6": {
        "business_in_illegal_building": Entry(
            quote="利用非法建筑、擅自改变房屋性质等从事生产经营活动的，由国土资源、规划",
            handler=UM,
            by_place={"road": PL},
            never=frozenset({MR}),
        ),
        "home_converted_to_business": Entry(
            quote="擅自改变房屋性质等从事生产经营活动的，由国土资源、规划、住房城乡建设",
            handler=HC,
            never=frozenset({MR}),
        ),
        "business_fire_safety_unapproved": Entry(
            quote="公安、消防", handler=PS, never=frozenset({MR})
        ),
        "business_environmental_unapproved": Entry(
            quote="公安、消防、环保等部门依法监管", handler=EP, never=frozenset({MR})
        ),
    },
    # 谁审批、谁监管: the approving department; market regulation for its own licence (营业执照:
    # heading of （八）, 负责物业管理区域内企业和个体工商注册登记审核).
    "8.7": {
        "business_fire_safety_unapproved": Entry(
            quote="由相关审批部门依法监督查处", handler=PS, never=frozenset({MR})
        ),
        "business_environmental_unapproved": Entry(
            quote="由相关审批部门依法监督查处", handler=EP, never=frozenset({MR})
        ),
        "unapproved_business_activity": Entry(
            quote="负责物业管理区域内企业和个体工商注册登记审核", handler=MR
        ),
    },
    "8.8": _agency(MR, "收售假冒、伪劣商品"),
    # 配合有关部门协调处理: market regulation assists; the dispute is a property-management dispute,
    # handled by the community under the town's guidance (10.2), mediated by the town (9.3).
    "8.9": Entry(
        quote="配合有关部门协调处理因上述问题引起的矛盾纠纷",
        handler=COMMUNITY,
        participants=frozenset({MR, TOWN}),
        escalation=TOWN,
        never=frozenset({MR}),
    ),
    # The town mediates (调解物业矛盾和纠纷) after the community (在…指导下处理…矛盾纠纷).
    "9.3": Entry(
        quote="调解物业矛盾和纠纷",
        handler=COMMUNITY,
        participants=frozenset({TOWN}),
        escalation=TOWN,
    ),
    "10.2": Entry(
        quote="在镇人民政府（街道办事处）指导下处理物业管理中的矛盾纠纷",
        handler=COMMUNITY,
        participants=frozenset({TOWN}),
        escalation=TOWN,
    ),
    "10.5": Entry(
        quote="负责协调处理业主或物业使用人违反业主管理规约的行为",
        handler=COMMUNITY,
        escalation=TOWN,
    ),
    # 属于物业管理范围的，物业服务企业要及时解决; without a company the town runs simple property
    # management (9.2: 无物业服务企业管理的住宅小区简易物业管理), and outside estates the 属地 town.
    "S3.2": Entry(
        quote="属于物业管理范围的，物业服务企业要及时解决",
        handler=COMPANY,
        by_place={"without": TOWN, "road": TOWN},
    ),
    "11": _agency("utility", "供水、供电、供气、供热、通信、有线电视、宽带数据传输等专业经营单位"),
}


def entries_for(code: str, refs: list[str]) -> list[tuple[str, Entry]]:
    """The key's entries for a type citing ``refs`` (matter-specific where the item has them)."""
    found = []
    for ref in refs:
        entry = KEY.get(ref)
        if isinstance(entry, dict):
            if code in entry:
                found.append((ref, entry[code]))
        elif entry is not None:
            found.append((ref, entry))
    return found
