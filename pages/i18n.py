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

# --- /grid: the grid worker's page (pages/grid*.py) ---
STRINGS |= {
    "grid.title": {"zh": "我的网格", "en": "My grid"},
    "grid.choose": {"zh": "选择网格", "en": "Choose a grid"},
    "grid.choose_hint": {
        "zh": "管理员：请先选择一个网格。",
        "en": "Administrator: choose a grid first.",
    },
    "grid.none": {"zh": "您的账号尚未分配网格。", "en": "Your account has no grid assigned."},
    "grid.tab_tasks": {"zh": "我的任务", "en": "My tasks"},
    "grid.tab_report": {"zh": "上报事件", "en": "Report"},
    "grid.tab_residents": {"zh": "关爱对象", "en": "Residents in care"},
    "grid.tab_devices": {"zh": "我的设备", "en": "My devices"},
    "grid.tasks_count": {"zh": "待办事件 {n} 件", "en": "{n} open incidents"},
    "grid.tasks_empty": {"zh": "网格内暂无待办事件。", "en": "No open incidents in the grid."},
    "grid.pick_task": {"zh": "点选一个任务进行处置。", "en": "Tap a task to handle it."},
    "grid.due": {"zh": "时限", "en": "Due"},
    "grid.overdue": {"zh": "已超时", "en": "Overdue"},
    "grid.severity": {"zh": "等级", "en": "Severity"},
    "grid.note": {"zh": "处置说明", "en": "Note"},
    "grid.note_hint": {"zh": "填写处置情况或原因…", "en": "What was done, or why…"},
    "grid.photo": {"zh": "拍照 / 上传照片", "en": "Take or upload a photo"},
    "grid.photo_ready": {"zh": "已选照片：{name}", "en": "Photo ready: {name}"},
    "grid.act.accept": {"zh": "接单", "en": "Accept"},
    "grid.act.handle": {"zh": "开始处置", "en": "Start handling"},
    "grid.act.escalate": {"zh": "上报街道", "en": "Escalate"},
    "grid.act.close": {"zh": "办结", "en": "Close"},
    "grid.no_actions": {
        "zh": "该事件不在网格层级，由上级处置。",
        "en": "This incident is handled above the grid.",
    },
    "grid.done": {
        "zh": "事件 {id}：已{action}，当前状态 {status}。",
        "en": "Incident {id}: {action} done, now {status}.",
    },
    "grid.refused": {"zh": "操作未执行：{reason}", "en": "Nothing changed: {reason}"},
    "grid.category": {"zh": "事件类别", "en": "Category"},
    "grid.description": {"zh": "事件描述", "en": "Description"},
    "grid.location": {"zh": "位置", "en": "Location"},
    "grid.location_hint": {
        "zh": "在地图上点选事件位置，或使用本机定位。",
        "en": "Tap the map where it is, or use this device's location.",
    },
    "grid.locate": {"zh": "使用当前定位", "en": "Use my location"},
    "grid.locate_failed": {"zh": "无法获取定位。", "en": "Location unavailable."},
    "grid.submit": {"zh": "提交上报", "en": "Submit report"},
    "grid.reported": {"zh": "已上报，事件编号 {id}。", "en": "Reported as incident {id}."},
    "grid.need_location": {"zh": "请先选择位置。", "en": "Choose a location first."},
    "grid.need_category": {"zh": "请选择事件类别。", "en": "Choose a category."},
    "grid.residents_note": {
        "zh": "含个人信息，仅限本网格工作使用；每次查看均记录审计。",
        "en": "Personal data for work in your grid only; every view is audited.",
    },
    "grid.residents_count": {"zh": "关爱对象 {n} 人", "en": "{n} residents in care"},
    "grid.door_last": {"zh": "门磁最近开门", "en": "Door last opened"},
    "grid.door_none": {"zh": "无门磁", "en": "No door sensor"},
    "grid.door_never": {"zh": "无开门记录", "en": "No opening recorded"},
    "grid.age": {"zh": "{n} 岁", "en": "age {n}"},
    "grid.devices_count": {
        "zh": "设备 {n} 台：在线 {online}，离线 {offline}，报警 {alarm}",
        "en": "{n} devices: {online} online, {offline} offline, {alarm} alarm",
    },
    "grid.last_seen": {"zh": "最后上报", "en": "Last seen"},
    "grid.never": {"zh": "从未", "en": "never"},
    "grid.status.online": {"zh": "在线", "en": "Online"},
    "grid.status.offline": {"zh": "离线", "en": "Offline"},
    "grid.status.alarm": {"zh": "报警", "en": "Alarm"},
    "grid.event.reported": {"zh": "待派遣", "en": "Reported"},
    "grid.event.dispatched": {"zh": "已派遣", "en": "Dispatched"},
    "grid.event.accepted": {"zh": "已接单", "en": "Accepted"},
    "grid.event.in_progress": {"zh": "处置中", "en": "In progress"},
    "grid.event.resolved": {"zh": "已处置", "en": "Resolved"},
    "grid.event.closed": {"zh": "已办结", "en": "Closed"},
    "grid.level.grid": {"zh": "网格", "en": "Grid"},
    "grid.level.street": {"zh": "街道", "en": "Street"},
    "grid.level.district": {"zh": "区", "en": "District"},
}

# --- /wall: the command wall (pages/wall*.py) ---
STRINGS |= {
    "wall.title": {"zh": "指挥大屏", "en": "Command wall"},
    "wall.all": {"zh": "全市", "en": "Whole city"},
    "wall.all_scoped": {"zh": "全部辖区", "en": "All my areas"},
    "wall.updated": {"zh": "更新于", "en": "Updated"},
    "wall.kpi.open": {"zh": "在办事件", "en": "Open incidents"},
    "wall.kpi.overdue": {"zh": "超期事件", "en": "Overdue"},
    "wall.kpi.closure_today": {"zh": "今日结案率", "en": "Closed today"},
    "wall.kpi.closure_30d": {"zh": "30天结案率", "en": "Closed, 30 days"},
    "wall.kpi.alarms": {"zh": "设备报警", "en": "Active alarms"},
    "wall.kpi.welfare": {"zh": "待探访老人", "en": "Welfare checks due"},
    "wall.kpi.of_received": {"zh": "受理 {n} 起", "en": "of {n} received"},
    "wall.map": {"zh": "全域态势", "en": "City situation"},
    "wall.map_hint": {
        "zh": "点击区划逐级下钻：区 → 街道 → 社区 → 网格",
        "en": "Click an area to drill down: district → street → community → grid",
    },
    "wall.twin": {"zh": "三维孪生", "en": "3D twin"},
    "wall.trend": {"zh": "近30天事件受理与办结", "en": "Incidents received and closed, 30 days"},
    "wall.received": {"zh": "受理", "en": "Received"},
    "wall.closed": {"zh": "办结", "en": "Closed"},
    "wall.ticker": {"zh": "最新报警与事件", "en": "Latest alarms and incidents"},
    "wall.ticker_empty": {"zh": "暂无事件", "en": "No incidents"},
    "wall.legend.hex": {"zh": "在办事件（H3）", "en": "Open incidents (H3)"},
    "wall.legend.risk": {"zh": "风险预测", "en": "Risk forecast"},
    "wall.legend.alarm": {"zh": "报警设备", "en": "Sensors in alarm"},
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
