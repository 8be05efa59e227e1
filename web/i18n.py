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
    "nav.sources": {"zh": "数据源", "en": "Data sources"},
    "nav.assessment": {"zh": "监督考核", "en": "Assessment"},
    "nav.account": {"zh": "我的账户", "en": "My account"},
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
    "map.photos": {"zh": "现场照片", "en": "Photos"},
    "map.photo_before": {"zh": "处置前", "en": "Before"},
    "map.photo_after": {"zh": "处置后", "en": "After"},
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
    "login.throttled": {
        "zh": "登录失败次数过多，请 {minutes} 分钟后再试。",
        "en": "Too many failed sign-ins: please try again in {minutes} minutes.",
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
    "store.unavailable": {
        "zh": "数据库暂时无法访问，请 {seconds} 秒后重试。",
        "en": "The database cannot be reached right now; please try again in {seconds} s.",
    },
    "store.retry": {"zh": "重试", "en": "Try again"},
    "store.banner": {
        "zh": "数据库暂时不可用，系统正在自动恢复。期间数据无法加载或保存，请稍候片刻再操作。",
        "en": "The database is unavailable and is being restarted. Until it is back, data "
        "cannot be loaded or saved; please wait a moment.",
    },
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
    "grid.reported": {
        "zh": "✓ 已上报，事件编号 {id}。表单已清空，可继续上报。",
        "en": "✓ Reported as incident {id}. The form is cleared for the next report.",
    },
    "grid.closed_done": {
        "zh": "✓ 事件 {id} 已办结，已移出待办列表。",
        "en": "✓ Incident {id} is closed and has left your queue.",
    },
    "grid.category_search": {"zh": "搜索或选择类别…", "en": "Search or choose a category…"},
    "grid.history": {"zh": "显示已办结历史", "en": "Show closed history"},
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
    "grid.task_history": {"zh": "处置记录", "en": "History"},
    "grid.history_empty": {"zh": "暂无记录。", "en": "Nothing recorded yet."},
    "grid.photo_kind.before": {"zh": "处置前", "en": "Before"},
    "grid.photo_kind.after": {"zh": "处置后", "en": "After"},
    "grid.photo_alt": {"zh": "事件照片（{kind}）", "en": "Incident photo ({kind})"},
    "grid.photos": {"zh": "照片", "en": "Photos"},
    "grid.cue_new": {"zh": "新任务：#{id} {title}", "en": "New task: #{id} {title}"},
    "grid.step.create": {"zh": "创建", "en": "Created"},
    "grid.step.report": {"zh": "上报", "en": "Reported"},
    "grid.step.dispatch": {"zh": "派遣", "en": "Dispatched"},
    "grid.step.accept": {"zh": "接单", "en": "Accepted"},
    "grid.step.start": {"zh": "开始处置", "en": "Started"},
    "grid.step.resolve": {"zh": "处置完成", "en": "Resolved"},
    "grid.step.close": {"zh": "办结", "en": "Closed"},
    "grid.step.escalate": {"zh": "上报上级", "en": "Escalated"},
    "grid.step.return": {"zh": "退回", "en": "Returned"},
    "grid.step.reject": {"zh": "驳回", "en": "Rejected"},
    "grid.step.reopen": {"zh": "重办", "en": "Reopened"},
    "grid.step.overdue": {"zh": "超期", "en": "Overdue"},
    "grid.step.duplicate": {"zh": "疑似重复", "en": "Likely duplicate"},
    "grid.step.other": {"zh": "其他操作", "en": "Other step"},
    "grid.actor_system": {"zh": "系统", "en": "System"},
    "grid.actor_open311": {"zh": "市民热线上报", "en": "Citizen report"},
}

# --- /grid offline: the queue of actions taken without a connection (assets/grid_offline.js) ---
STRINGS |= {
    "grid.offline.banner": {
        "zh": "当前离线：操作将暂存，联网后自动提交。",
        "en": "Offline: actions are kept and sent when the connection returns.",
    },
    "grid.offline.waiting": {"zh": "待提交操作 {n} 项", "en": "{n} actions waiting"},
    "grid.offline.sending": {"zh": "正在提交暂存的操作…", "en": "Sending the waiting actions…"},
    "grid.offline.queued": {
        "zh": "已暂存：事件 #{id}「{action}」，联网后提交。",
        "en": "Kept: incident #{id} “{action}”, to be sent when online.",
    },
    "grid.offline.sent": {
        "zh": "已提交：事件 #{id}「{action}」→ {status}",
        "en": "Sent: incident #{id} “{action}” → {status}",
    },
    "grid.offline.refused": {
        "zh": "未执行：事件 #{id}「{action}」— {reason}",
        "en": "Not applied: incident #{id} “{action}” — {reason}",
    },
    "grid.offline.report_queued": {
        "zh": "已暂存上报，联网后提交。",
        "en": "Report kept, to be sent when online.",
    },
    "grid.offline.report_sent": {
        "zh": "上报已提交：事件 #{id}",
        "en": "Report sent: incident #{id}",
    },
    "grid.offline.report_refused": {
        "zh": "上报未执行：{reason}",
        "en": "Report not made: {reason}",
    },
    "grid.conflict": {
        "zh": "事件 #{id} 已于 {at} 由{by}处理为「{status}」，「{action}」未执行。",
        "en": "Incident #{id} was already {status} by {by} at {at}; “{action}” was not applied.",
    },
    "grid.conflict_someone": {"zh": "他人", "en": "someone else"},
    "grid.out_of_scope": {
        "zh": "事件 #{id} 不在您的网格内。",
        "en": "Incident #{id} is not in your grids.",
    },
}

# --- /wall: the command wall (pages/wall*.py) ---
STRINGS |= {
    "wall.title": {"zh": "指挥大屏", "en": "Command wall"},
    "wall.all": {"zh": "全市", "en": "Whole city"},
    "wall.all_scoped": {"zh": "全部辖区", "en": "All my areas"},
    "wall.population": {"zh": "常住人口（估算）", "en": "Population (est.)"},
    "wall.updated": {"zh": "更新于", "en": "Updated"},
    "wall.freshness": {
        "zh": "数据更新 {current}/{total} 正常",
        "en": "Data updates {current}/{total} current",
    },
    "wall.freshness_late": {"zh": "逾期 {n}", "en": "{n} overdue"},
    "wall.freshness_title": {"zh": "逾期数据源：{names}", "en": "Overdue sources: {names}"},
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
    "wall.trend_day": {
        "zh": "{day} 受理 {received} · 办结 {closed}",
        "en": "{day} received {received} · closed {closed}",
    },
    "wall.ticker": {"zh": "最新报警与事件", "en": "Latest alarms and incidents"},
    "wall.ticker_empty": {"zh": "暂无事件", "en": "No incidents"},
    "wall.legend.hex": {"zh": "在办事件（H3）", "en": "Open incidents (H3)"},
    "wall.legend.risk": {"zh": "风险预测", "en": "Risk forecast"},
    "wall.legend.alarm": {"zh": "报警设备", "en": "Sensors in alarm"},
}

STRINGS |= {f"group.{group}": dict(title) for group, title in GROUPS.items()}


# --- /export and /analyze: the planner's and the analyst's pages (pages/export*.py, analyze*.py)
STRINGS |= {
    "export.title": {"zh": "数据导出", "en": "Export data"},
    "export.layers": {"zh": "图层", "en": "Layers"},
    "export.area": {"zh": "范围", "en": "Area"},
    "export.area_city": {"zh": "全部（我的权限范围）", "en": "Everything I may see"},
    "export.area_unit": {"zh": "行政区划", "en": "Governance area"},
    "export.area_polygon": {"zh": "在地图上绘制", "en": "Drawn on the map"},
    "export.area_bbox": {"zh": "矩形范围", "en": "Bounding box"},
    "export.area_pick": {"zh": "选择区划…", "en": "Choose an area…"},
    "export.draw_hint": {
        "zh": "用地图右上角的多边形或矩形工具绘制范围。",
        "en": "Draw the area with the polygon or rectangle tool at the map's top right.",
    },
    "export.draw_missing": {"zh": "尚未绘制范围。", "en": "Nothing drawn yet."},
    "export.bbox_from_map": {"zh": "取当前地图视野", "en": "Use the map view"},
    "export.fields": {"zh": "字段", "en": "Fields"},
    "export.fields_hint": {
        "zh": "仅列出您的角色可导出的字段，不含任何个人身份信息。",
        "en": "Only the fields your role may export; never personal identifiers.",
    },
    "export.format": {"zh": "格式", "en": "Format"},
    "export.crs": {"zh": "坐标系", "en": "Coordinate system"},
    "export.crs.wgs84": {"zh": "WGS84 经纬度（EPSG:4326）", "en": "WGS84 lon/lat (EPSG:4326)"},
    "export.crs.cgcs2000": {
        "zh": "CGCS2000 经纬度（EPSG:4490）",
        "en": "CGCS2000 geographic (EPSG:4490)",
    },
    "export.crs.gk117": {
        "zh": "CGCS2000 高斯-克吕格 3 度带 中央经线东经 117°（EPSG:4548）",
        "en": "CGCS2000 Gauss–Krüger 3° CM 117°E (EPSG:4548)",
    },
    "export.crs.gk39": {
        "zh": "CGCS2000 高斯-克吕格 3 度带 第 39 带，横坐标带带号（EPSG:4527）",
        "en": "CGCS2000 Gauss–Krüger 3° zone 39, with zone prefix (EPSG:4527)",
    },
    "export.crs.gcj02": {
        "zh": "GCJ-02（火星坐标，仅供高德/腾讯地图开发使用）",
        "en": "GCJ-02 (Mars coordinates, for AMap/Tencent map developers only)",
    },
    "export.crs_hint": {
        "zh": "GCJ-02 是加偏坐标，不是测绘坐标系，勿用于测量或与其他数据叠加。其他 EPSG 坐标系"
        "可在下方脚本地址中加 crs=EPSG:代码，或用命令行 --crs。",
        "en": "GCJ-02 is an offset, not a survey coordinate system: do not measure with it or "
        "overlay it on other data. For any other EPSG code add crs=EPSG:<code> to the script "
        "URLs below, or use --crs on the command line.",
    },
    "export.summary": {"zh": "将导出", "en": "Will export"},
    "export.features": {"zh": "个要素", "en": "features"},
    "export.download": {"zh": "下载", "en": "Download"},
    "export.done": {"zh": "已导出 {n} 个要素。", "en": "{n} features exported."},
    "export.error": {"zh": "无法导出：{reason}", "en": "Cannot export: {reason}"},
    "heavy.busy": {
        "zh": "正在进行的分析或导出已达上限，请 {seconds} 秒后再试。",
        "en": "Too many analyses or exports are running; try again in {seconds} s.",
    },
    "export.no_layers": {"zh": "请至少选择一个图层。", "en": "Choose at least one layer."},
    "export.api": {"zh": "脚本下载地址（不含字段选择）", "en": "Script URLs (all fields)"},
    "export.ogc": {"zh": "在 QGIS 中连接（OGC API）", "en": "Connect QGIS (OGC API)"},
    "export.ogc_hint": {
        "zh": "在 QGIS 中新建 WFS / OGC API – Features 连接，填入此地址，并添加 HTTP 请求头 "
        "Authorization: Bearer <令牌>。令牌在“我的账户”页生成。",
        "en": "In QGIS add a WFS / OGC API – Features connection with this address and the HTTP "
        "header Authorization: Bearer <token>. Create the token on the My account page.",
    },
    "export.gdal_hint": {"zh": "GDAL / ogr2ogr 使用：", "en": "GDAL / ogr2ogr read it with:"},
    "analyze.title": {"zh": "空间分析", "en": "Spatial analysis"},
    "analyze.presets": {"zh": "示例问题", "en": "Example questions"},
    "analyze.preset.elderly": {
        "zh": "燃气报警 300 米内的独居老人（近 24 小时）",
        "en": "Elderly living alone within 300 m of a gas alarm (last 24 h)",
    },
    "analyze.preset.tall": {
        "zh": "距消火栓超过 150 米的 18 层以上建筑",
        "en": "Buildings over 18 floors more than 150 m from a hydrant",
    },
    "analyze.preset.lanes": {
        "zh": "无摄像头覆盖的消防通道",
        "en": "Fire lanes not covered by any camera",
    },
    "analyze.subject": {"zh": "查询对象", "en": "Find"},
    "analyze.where": {"zh": "属性条件", "en": "Attribute filters"},
    "analyze.add_filter": {"zh": "+ 条件", "en": "+ filter"},
    "analyze.time": {"zh": "时间条件", "en": "Time window"},
    "analyze.time_field": {"zh": "时间字段", "en": "Time field"},
    "analyze.last_hours": {"zh": "最近（小时）", "en": "Last (hours)"},
    "analyze.until": {
        "zh": "截至（本地时间，如 2026-12-07 09:00；留空为现在）",
        "en": "Ending at (local time, e.g. 2026-12-07 09:00; empty: now)",
    },
    "analyze.area": {"zh": "范围", "en": "Within"},
    "analyze.area_any": {"zh": "不限（我的权限范围）", "en": "Anywhere I may see"},
    "analyze.near": {"zh": "距离条件", "en": "Distance to other features"},
    "analyze.near_on": {"zh": "启用", "en": "Use"},
    "analyze.near_within": {"zh": "之内", "en": "within"},
    "analyze.near_beyond": {"zh": "之外（不在任何要素范围内）", "en": "beyond every one"},
    "analyze.distance": {"zh": "距离（米）", "en": "Distance (m)"},
    "analyze.near_layer": {"zh": "参照图层", "en": "Reference layer"},
    "analyze.near_where": {"zh": "参照条件", "en": "Reference filters"},
    "analyze.nearest": {"zh": "最近 N 个", "en": "Nearest N"},
    "analyze.nearest_hint": {
        "zh": "点击地图选择位置，填写数量。",
        "en": "Click the map to set the point, then give N.",
    },
    "analyze.run": {"zh": "查询", "en": "Ask"},
    "analyze.csv": {"zh": "下载 CSV", "en": "Download CSV"},
    "analyze.result": {"zh": "结果", "en": "Answer"},
    "analyze.count": {"zh": "共 {total} 条，显示 {count} 条", "en": "{total} found, {count} shown"},
    "analyze.people": {
        "zh": "显示 {total} 栋楼共 {people} 人；另有 {withheld} 栋楼人数少于 {min} 人，不予显示",
        "en": "{total} buildings with {people} people shown; {withheld} buildings with fewer "
        "than {min} withheld",
    },
    "analyze.window": {
        "zh": "{field}：{start} 至 {end}（{zone}）",
        "en": "{field}: {start} to {end} ({zone})",
    },
    "analyze.open_end": {"zh": "不限", "en": "open"},
    "analyze.error": {"zh": "无法查询：{reason}", "en": "Cannot ask: {reason}"},
    "analyze.empty": {"zh": "尚未查询。", "en": "Nothing asked yet."},
    "analyze.field": {"zh": "字段", "en": "Field"},
    "analyze.op": {"zh": "运算", "en": "Operator"},
    "analyze.value": {"zh": "值", "en": "Value"},
    # --- issue 14, every word in the user's language (one block, to ease merging) ---
    "form.bbox_hint": {
        "zh": "最小经度,最小纬度,最大经度,最大纬度",
        "en": "min lon,min lat,max lon,max lat",
    },
    "analyze.point_hint": {"zh": "经度,纬度", "en": "lon,lat"},
    "analyze.n_hint": {"zh": "个数", "en": "N"},
    "analyze.op.in": {"zh": "属于", "en": "in"},
    "analyze.op.between": {"zh": "介于", "en": "between"},
    "analyze.op.has": {"zh": "包含", "en": "has"},
    # --- issue 16, value pickers on /analyze ---
    "analyze.pick": {"zh": "选择或输入名称搜索", "en": "Choose, or type a name to search"},
    "analyze.pick.select_all": {"zh": "全选", "en": "Select all"},
    "analyze.pick.deselect_all": {"zh": "全不选", "en": "Deselect all"},
    "analyze.pick.selected_count": {
        "zh": "已选 {num_selected} 项",
        "en": "{num_selected} selected",
    },
    "analyze.pick.search": {
        "zh": "输入中文或英文名称搜索",
        "en": "Type a name (Chinese or English)",
    },
    "analyze.pick.clear_search": {"zh": "清除搜索", "en": "Clear search"},
    "analyze.pick.clear_selection": {"zh": "清除选择", "en": "Clear selection"},
    "analyze.pick.no_options_found": {"zh": "没有匹配的选项", "en": "No match"},
    "analyze.not_an_option": {
        "zh": "未查询：所选的值不是“{field}”的可选值，请从列表中选择。",
        "en": "Not asked: the value given is not one of the values of {field}; pick one from "
        "the list.",
    },
    # Words of the widgets' own libraries, swapped in the page (assets/onemap_clientside.js).
    "lib.zoom_in": {"zh": "放大", "en": "Zoom in"},
    "lib.zoom_out": {"zh": "缩小", "en": "Zoom out"},
    "lib.fullscreen": {"zh": "全屏", "en": "Full screen"},
    "lib.draw_polygon": {"zh": "绘制多边形", "en": "Draw a polygon"},
    "lib.draw_rectangle": {"zh": "绘制矩形", "en": "Draw a rectangle"},
    "lib.edit": {"zh": "编辑图形", "en": "Edit layers"},
    "lib.delete": {"zh": "删除图形", "en": "Delete layers"},
    "lib.no_edit": {"zh": "没有可编辑的图形", "en": "No layers to edit"},
    "lib.no_delete": {"zh": "没有可删除的图形", "en": "No layers to delete"},
    "lib.cancel": {"zh": "取消", "en": "Cancel"},
    "lib.finish": {"zh": "完成", "en": "Finish"},
    "lib.undo": {"zh": "撤销最后一点", "en": "Delete last point"},
    "lib.search": {"zh": "搜索", "en": "Search"},
    "lib.increase": {"zh": "增加", "en": "Increase value"},
    "lib.decrease": {"zh": "减少", "en": "Decrease value"},
    "lib.start_date": {"zh": "开始日期", "en": "Start Date"},
    "lib.end_date": {"zh": "结束日期", "en": "End Date"},
    "lib.minimum": {"zh": "最小值", "en": "Minimum"},
    "lib.maximum": {"zh": "最大值", "en": "Maximum"},
    "lib.clear_selection": {"zh": "清除选择", "en": "Clear selection"},
    "wall.kpi.overdue.hint": {
        "zh": "未办结且已超过首次处置时限（上报时间 + 该类事件按等级规定的时限）的事件数；"
        "升级或重新打开不重新计时",
        "en": "Open incidents past their first deadline (reported time + the SLA of their "
        "category and severity); escalating or reopening does not restart this clock",
    },
}


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


def labels_to_write(value: str | None, shown: str | None) -> str:
    """The language a page's relabel callback must write its labels in, or PreventUpdate when
    the page already shows them in it (the page's first appearance in the language it was
    built in: no store query, and no re-render under a user already typing)."""
    from dash.exceptions import PreventUpdate

    lang = language(value)
    if lang == shown:
        raise PreventUpdate
    return lang
