"""Chinese sentences for every 4xx answer: the people reading them are Chinese police staff.

Domain errors keep their precise English text (tests, logs, integrators grep it) behind a Chinese
sentence chosen by the error's reason; request validation errors (pydantic's types) are translated
field by field, with the field's Chinese label and its API name, e.g. "缺少必填项：车牌 plate".
"""

from __future__ import annotations

import re
from typing import Any

_HAN = re.compile(r"[\u4e00-\u9fff]")

# reason -> what went wrong, in a sentence a duty officer understands
ZH_BY_REASON: dict[str, str] = {
    "bad-request": "请求有误",
    "not-found": "找不到要访问的内容",
    "conflict": "操作与当前状态冲突",
    "invalid-input": "输入不正确",
    "not-authenticated": "请先登录，或登录已过期",
    "forbidden": "您的角色无权执行此操作",
    "service-unavailable": "服务暂时不可用，请稍后重试",
    "login-locked": "登录失败次数过多，请稍后再试",
    "unknown-checkpoint": "没有这个卡口",
    "unknown-area": "没有这个区域",
    "unknown-pass": "没有这条过车记录",
    "unknown-device": "没有这台设备",
    "watch-not-found": "没有这条布控",
    "wrong-watch-state": "布控当前的状态不允许此操作",
    "four-eyes": "布控须由另一位有审批权的用户审批",
    "alert-not-found": "预警不存在，或不在您的辖区范围内",
    "wrong-alert-state": "预警当前的状态不允许这一步",
    "no-image": "没有这张图片",
    "invalid-image": "图片不是有效的 JPEG",
    "invalid-pass": "过车数据不正确",
    "invalid-coverage-input": "覆盖分析的输入不正确",
    "device-code-taken": "设备编号已被使用",
    "wrong-device-kind": "该设备类型不能这样上传",
    "device-keys-unavailable": "设备密钥暂时无法读取，请稍后重试",
    "image-storage-unavailable": "图片存储暂时不可用，请稍后重试",
    "dead-letter-not-found": "没有这条死信",
    "redis-unavailable": "消息队列暂时无法访问，请稍后重试",
    "payload-too-large": "请求内容过大",
    "method-not-allowed": "不支持这种请求方法",
}
# exact English details that deserve their own sentence
ZH_BY_DETAIL: dict[str, str] = {
    "wrong username or password": "用户名或密码错误",
    "Not Found": "找不到要访问的内容",
    "Method Not Allowed": "不支持这种请求方法",
}
ZH_BY_STATUS: dict[int, str] = {400: "请求有误", 401: "请先登录", 403: "无权执行此操作", 404: "找不到要访问的内容",
                                405: "不支持这种请求方法", 409: "操作与当前状态冲突", 413: "请求内容过大",
                                422: "输入不正确", 429: "请求过于频繁，请稍后再试"}


def has_chinese(text: str) -> bool:
    return bool(_HAN.search(text))


def chinese_detail(status: int, reason: str, detail: str) -> str:
    """The detail with a Chinese sentence first (left as is when it already has one)."""
    if has_chinese(detail):
        return detail
    sentence = ZH_BY_DETAIL.get(detail) or ZH_BY_REASON.get(reason) or ZH_BY_STATUS.get(status, "请求未能完成")
    return f"{sentence}（{detail}）" if detail and detail not in ZH_BY_DETAIL else sentence


# --- request validation (pydantic) ----------------------------------------------------------------

# a field's API name -> its Chinese label (shown with the API name beside it)
FIELD_ZH: dict[str, str] = {
    "plate": "车牌", "pattern": "号牌模式", "match_mode": "比对方式", "strictness": "容错程度", "reason": "理由",
    "category": "布控类别", "case_number": "案件编号", "priority": "优先级", "scope_kind": "布控范围",
    "scope_districts": "布控辖区", "scope_checkpoint_ids": "布控卡口", "valid_from": "生效时间",
    "valid_to": "截止时间", "submit": "提交审批", "username": "用户名", "password": "密码", "roles": "角色",
    "display_name": "姓名", "unit": "单位", "note": "备注", "action": "操作", "checkpoint_id": "卡口",
    "checkpoint_ids": "卡口", "checkpoint": "卡口", "checkpoints": "卡口", "district": "辖区",
    "districts": "辖区", "area": "区域", "areas": "区域", "code": "编号", "name": "名称", "lat": "纬度",
    "lon": "经度", "lanes": "车道数", "direction": "方向", "plate_colour": "号牌颜色", "plate_type": "号牌种类",
    "vehicle_colour": "车身颜色", "vehicle_type": "车辆类型", "vehicle_brand": "车辆品牌", "since": "开始时间",
    "until": "结束时间", "start": "开始时间", "end": "结束时间", "from": "开始时间", "to": "结束时间",
    "windows": "时间窗", "days": "天数", "hours": "小时数", "limit": "条数", "offset": "起始位置",
    "page": "页码", "sort": "排序", "min_count": "最少次数", "max_gap_s": "最大间隔(秒)",
    "kind": "类型", "retention_class": "保存级别", "defence_line": "防线", "active": "启用",
    "whole_network": "全网", "captured_at": "抓拍时间", "image": "图片", "days_back": "回溯天数",
    "min_speed_kmh": "最低速度(km/h)", "window_s": "时间窗(秒)", "core_depth_m": "核心纵深(米)",
}


def field_label(loc: tuple[Any, ...] | list[Any]) -> str:
    """"车牌 plate" for ("query", "plate"); list positions read "第 2 项"; "" for the body itself."""
    parts: list[str] = []
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else loc:
        if isinstance(part, int):
            parts.append(f"第 {part + 1} 项")
        elif part in FIELD_ZH:
            parts.append(f"{FIELD_ZH[part]} {part}")
        else:
            parts.append(str(part))
    return " · ".join(parts)


def _sentence(kind: str, ctx: dict[str, Any], given: Any) -> str:  # noqa: C901  (one table, read top to bottom)
    if kind == "missing":
        return "缺少必填项"
    if kind in ("string_too_short", "too_short"):
        least = ctx.get("min_length", 1)
        unit = "个字" if kind.startswith("string") else "项"
        return "不能为空" if least == 1 and unit == "个字" else f"至少需要 {least} {unit}"
    if kind in ("string_too_long", "too_long"):
        unit = "个字" if kind.startswith("string") else "项"
        return f"最多 {ctx.get('max_length')} {unit}"
    bounds = {"greater_than": "须大于", "greater_than_equal": "须不小于", "less_than": "须小于",
              "less_than_equal": "须不大于"}
    if kind in bounds:
        limit = next(iter(value for key, value in ctx.items() if key in ("gt", "ge", "lt", "le")), "")
        return f"{bounds[kind]} {limit}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "须为整数"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return "须为数字"
    if kind in ("bool_parsing", "bool_type"):
        return "须为 是/否 (true/false)"
    if kind.startswith("datetime") or kind.startswith("date") or kind.startswith("time"):
        return "须为时间，如 2026-12-08T08:00:00+08:00"
    if kind in ("literal_error", "enum"):
        return f"只能是 {ctx.get('expected', '')} 之一".replace("' or '", "', '")
    if kind in ("string_type", "string_unicode"):
        return "须为文字"
    if kind in ("list_type", "tuple_type", "set_type"):
        return "须为列表"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "须为 JSON 对象"
    if kind == "uuid_parsing" or kind == "uuid_type":
        return "须为 UUID 编号"
    if kind == "string_pattern_mismatch":
        return "格式不对"
    if kind == "extra_forbidden":
        return "不认识这个字段"
    if kind == "json_invalid":
        return f"请求体不是有效的 JSON（{ctx.get('error', 'invalid JSON')}）"
    if kind == "value_error":
        message = str(ctx.get("error", ""))
        return message if has_chinese(message) else f"取值不正确（{message}）"
    return "取值不正确"


def validation_message(error: dict[str, Any]) -> str:
    """One pydantic error as a Chinese sentence: "缺少必填项：车牌 plate"."""
    loc = tuple(error.get("loc", ()))
    sentence = _sentence(str(error.get("type", "")), dict(error.get("ctx") or {}), error.get("input"))
    if error.get("type") == "json_invalid":
        return sentence
    label = field_label(loc)
    if not label:
        return f"请求体{sentence}" if error.get("type") != "missing" else "缺少请求体（JSON）"
    return f"{sentence}：{label}" if error.get("type") == "missing" else f"{label}：{sentence}"


def validation_detail(errors: list[dict[str, Any]]) -> str:
    """Every field's message, one sentence each."""
    return "；".join(dict.fromkeys(validation_message(error) for error in errors)) or "输入不正确"
