"""Every UI string of the pages in zh-CN (default) and English.

Layer titles, legends and popup labels are layer data (see ``layers/``); everything else a user
reads is here. :func:`text` picks one language; the shell swaps them clientside on a switch.
"""

from __future__ import annotations

from layers.base import GROUPS

LANGUAGES: dict[str, str] = {"zh": "中文", "en": "EN"}
DEFAULT_LANGUAGE = "zh"

STRINGS: dict[str, dict[str, str]] = {
    "app.title": {"zh": "社区一张图", "en": "OneMap"},
    "app.subtitle": {
        "zh": "基层治理数字孪生",
        "en": "Digital twin of community governance",
    },
    "app.document_title": {"zh": "社区一张图 · OneMap", "en": "OneMap · Community governance"},
    "shell.language": {"zh": "语言", "en": "Language"},
    "nav.map": {"zh": "一张图", "en": "Map"},
    "nav.twin": {"zh": "三维孪生", "en": "3D twin"},
    "nav.wall": {"zh": "指挥大屏", "en": "Command wall"},
    "nav.grid": {"zh": "我的网格", "en": "My grid"},
    "nav.export": {"zh": "数据导出", "en": "Export"},
    "nav.analyze": {"zh": "空间分析", "en": "Analyse"},
    "nav.audit": {"zh": "审计日志", "en": "Audit trail"},
    "home.layers": {"zh": "图层", "en": "Layers"},
    "home.legend": {"zh": "图例", "en": "Legend"},
    "home.zoom": {"zh": "缩放级别", "en": "Zoom"},
    "home.hint": {
        "zh": "放大查看明细；缩小时以六边形或建筑汇总统计。点击区划可选中并缩放。",
        "en": "Zoom in for detail; zoomed out, hexagons and buildings carry counts. "
        "Click an area to select it and zoom to it.",
    },
    "home.area": {"zh": "选中区域", "en": "Selected area"},
    "home.area_none": {"zh": "全市", "en": "Whole city"},
    "home.area_clear": {"zh": "清除", "en": "Clear"},
    "time.title": {"zh": "时间范围", "en": "Time window"},
    "time.play": {"zh": "播放", "en": "Play"},
    "time.pause": {"zh": "暂停", "en": "Pause"},
    "time.incidents": {"zh": "本时段事件数", "en": "Incidents in window"},
    "map.count": {"zh": "个", "en": "items"},
    "map.people": {"zh": "人", "en": "people"},
    "map.share": {"zh": "占比", "en": "share"},
    "map.suppressed": {"zh": "人数过少，不予显示", "en": "too few to show"},
    "map.per_km2": {"zh": "每平方公里", "en": "per km²"},
    "map.capped": {"zh": "仅显示部分", "en": "partly shown"},
    "map.fullscreen": {"zh": "全屏", "en": "Full screen"},
    "live.label": {"zh": "实时", "en": "Live"},
    "login.title": {"zh": "登录 · 社区一张图", "en": "Sign in · OneMap"},
    "login.username": {"zh": "用户名", "en": "User name"},
    "login.password": {"zh": "密码", "en": "Password"},
    "login.submit": {"zh": "登录", "en": "Sign in"},
    "login.bad_credentials": {"zh": "用户名或密码错误。", "en": "Wrong user name or password."},
    "login.locked": {
        "zh": "连续登录失败次数过多，账号已锁定 {minutes} 分钟。",
        "en": "Too many failed sign-ins: the account is locked for {minutes} minutes.",
    },
    "login.expired": {
        "zh": "登录页已过期，请重新输入。",
        "en": "The sign-in form expired; please enter your details again.",
    },
    "login.forbidden": {
        "zh": "您的角色无权访问此页面。",
        "en": "Your role may not open this page.",
    },
    "login.home": {"zh": "返回我的首页", "en": "Back to my page"},
    "shell.logout": {"zh": "退出", "en": "Sign out"},
    "role.leader": {"zh": "领导", "en": "Leader"},
    "role.grid_worker": {"zh": "网格员", "en": "Grid worker"},
    "role.planner": {"zh": "规划人员", "en": "Planner"},
    "role.analyst": {"zh": "分析人员", "en": "Analyst"},
    "role.admin": {"zh": "管理员", "en": "Administrator"},
}

STRINGS |= {f"group.{group}": dict(title) for group, title in GROUPS.items()}


def text(key: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """String ``key`` in ``lang`` (falling back to the default language)."""
    entry = STRINGS[key]
    return entry.get(lang) or entry[DEFAULT_LANGUAGE]


def pick(value: dict[str, str], lang: str) -> str:
    """One language of a ``{'zh': …, 'en': …}`` value from the layer data."""
    return value.get(lang) or value[DEFAULT_LANGUAGE]


def language(value: str | None) -> str:
    """A supported language code (the default for anything else)."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE
