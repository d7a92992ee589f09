"""A small object store for the clean job, with every case it must handle (and the expected outcome).

Ids are chosen so that "smallest id" and "earliest published" disagree: the canonical
member of the reprinted story is ``p9-original``, not ``p1-exact-reprint``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from yuqing.contracts import MediaAsset, RawDocument, Transcript, TranscriptSegment
from yuqing.storage import LocalStore

STORY_A = (
    "新华社上海11月10日电 记者从上海市交通委员会获悉，上海地铁十八号线二期工程今天正式开工建设。\n"
    "该线路全长约十四公里，共设车站九座，建成后将连接浦东新区多个大型居住社区与城市中心区域。\n"
    "据介绍，工程计划于二〇二九年底建成通车，届时沿线居民前往陆家嘴的通勤时间有望缩短二十分钟。\n"
    "市交通委相关负责人表示，施工期间将采取分段围挡和错峰作业等措施，尽量减少对周边交通和居民生活的影响。\n"
    "专家认为，十八号线二期建成后将进一步完善浦东轨道交通网络，缓解现有线路的客流压力。"
)
# A light edit: one sentence reworded, one word changed; Jaccard of 5-shingles stays above 0.8.
STORY_A_EDITED = (
    STORY_A.replace("专家认为，十八号线二期建成后将进一步完善浦东轨道交通网络", "业内人士指出，十八号线二期建成后将进一步完善浦东轨道交通网络")
    .replace("正式开工建设", "正式开工")
)
STORY_B = (
    "本报讯 昨日，某市消费者协会发布第三季度投诉分析报告，网络购物投诉数量同比上升百分之十二。\n"
    "报告显示，虚假宣传、退换货难和售后服务不到位是消费者反映最集中的三类问题。\n"
    "消协提醒广大消费者，网购时应选择正规平台，保留好交易凭证，遇到纠纷及时依法维权。"
)
STORY_B_UPDATED = STORY_B + "\n消协同时公布了十起典型案例。"
STORY_C_TRADITIONAL = (
    "臺北市政府今日宣佈，將於明年擴大公共自行車系統的服務範圍，新增三百個租賃站點。\n"
    "市府表示，這項計畫將優先在捷運站周邊與學校附近設站，方便民眾轉乘與通勤。"
)
STORY_C_SIMPLIFIED_PREFIX = "台北市政府今日宣布，将于明年扩大公共自行车系统的服务范围"
STORY_E = "本台记者今天走访了社区养老服务中心，听取了老人们对助餐服务的意见和建议。视频中，多位老人谈到了自己的感受。"
TRANSCRIPT_E_TRADITIONAL = "這裡的飯菜很合口味，價格也實惠，我們每天都來吃。"
TRANSCRIPT_E_SIMPLIFIED = "这里的饭菜很合口味，价格也实惠，我们每天都来吃。"
ENGLISH = (
    "The city council approved a new budget on Tuesday that increases spending on public transport "
    "and road maintenance by twelve percent over the next fiscal year."
)
SYMBOLS = "1234567890 ### $$$ 12.5% 33.1% 45.0% *** --- 2026-11-10 11:30 +++ === 88888888 ~~~ 77.7% 66.6%"

MEDIA_SHA = "a" * 64
FAILED_MEDIA_SHA = "b" * 64
BOILERPLATE_LINES = ("责任编辑：王小明", "点击分享到微信", "扫一扫，分享到朋友圈", "【版权声明】本文版权归原作者所有，未经授权禁止转载。")


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if "+" not in text else datetime.fromisoformat(text)


def raw(doc_id: str, text: str, *, published: str | None, crawled: str, title: str = "标题", source: str = "outlet",
        media: list[MediaAsset] | None = None) -> RawDocument:  # fmt: skip
    return RawDocument(
        id=doc_id,
        url=f"https://{source}.example/{doc_id}",
        canonical_url=f"https://{source}.example/{doc_id}",
        source=source,
        title=title,
        text=text,
        published_at=_ts(published) if published else None,
        crawled_at=_ts(crawled),
        media=media or [],
    )


def media(sha: str) -> MediaAsset:
    return MediaAsset(
        sha256=sha, url=f"https://v.example/{sha[:6]}.mp4", key=f"raw/media/{sha}.mp4", kind="video", size_bytes=10
    )


FIRST_RUN = [
    raw("p9-original", "<p>" + STORY_A.replace("\n", "</p><p>") + "</p>\n责任编辑：王小明\n点击分享到微信",
        published="2026-11-10T02:00:00", crawled="2026-11-12T01:00:00", source="dongfang"),
    raw("p1-exact-reprint", "原标题：上海地铁十八号线二期开工\n" + STORY_A + "\n来源：东方日报\n【版权声明】本文版权归原作者所有，未经授权禁止转载。",
        published="2026-11-10T06:00:00", crawled="2026-11-12T01:05:00", source="nanfeng"),
    raw("p5-edited-reprint", STORY_A_EDITED + "\n扫一扫，分享到朋友圈",
        published="2026-11-11T01:00:00", crawled="2026-11-12T01:10:00", source="huaxia"),
    raw("q-distinct", STORY_B, published="2026-11-10T20:30:00", crawled="2026-11-12T01:00:00"),
    raw("r-traditional", STORY_C_TRADITIONAL, published="2026-11-09T03:00:00", crawled="2026-11-12T01:00:00", title="臺北擴大公共自行車"),
    raw("s-short", "简讯：今日无事。", published="2026-11-10T03:00:00", crawled="2026-11-12T01:00:00"),
    raw("t-video", STORY_E, published="2026-11-10T04:00:00", crawled="2026-11-12T01:00:00",
        media=[media(MEDIA_SHA), media(FAILED_MEDIA_SHA)]),
    raw("u-english", ENGLISH, published="2026-11-10T05:00:00", crawled="2026-11-12T01:00:00"),
    raw("v-symbols", SYMBOLS, published=None, crawled="2026-11-12T01:00:00"),
    raw("w-undated-reprint", STORY_B, published=None, crawled="2026-11-12T02:00:00"),
]  # fmt: skip
# A later crawl of q-distinct in another run: it supersedes the first.
RECRAWL = [raw("q-distinct", STORY_B_UPDATED, published="2026-11-10T20:30:00", crawled="2026-11-12T09:00:00")]
MALFORMED_LINES = ['{"id": "broken", "text": ', '{"url": "https://x.example/no-id", "text": "没有编号"}']


def write_raw(
    store: LocalStore, day: str, run_id: str, documents: list[RawDocument], extra_lines: tuple[str, ...] = ()
) -> None:
    lines = [d.model_dump_json() for d in documents] + list(extra_lines)
    store.put_bytes(f"raw/docs/date={day}/{run_id}.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))


def write_transcripts(store: LocalStore) -> None:
    transcript = Transcript(
        media_sha256=MEDIA_SHA,
        media_key=f"raw/media/{MEDIA_SHA}.mp4",
        segments=[
            TranscriptSegment(start=0.0, end=2.0, text=TRANSCRIPT_E_TRADITIONAL),
            TranscriptSegment(start=2.0, end=3.0, text="（雜音）", reliable=False, flags=["low_logprob"]),
        ],
        backend="faster-whisper",
        model="base",
    )
    store.put_bytes(f"transcripts/{MEDIA_SHA}.json", transcript.model_dump_json().encode("utf-8"))
    # A failure record with a transcript-like body: it must be ignored all the same.
    failed = {"media_sha256": FAILED_MEDIA_SHA, "text": "不应出现的文字", "reason": "silent"}
    failed_json = json.dumps(failed, ensure_ascii=False).encode("utf-8")
    store.put_bytes(f"transcripts/_failed/{FAILED_MEDIA_SHA}.json", failed_json)


def build_store(root: Path) -> LocalStore:
    store = LocalStore(root)
    write_raw(store, "2026-11-12", "run-1", FIRST_RUN, tuple(MALFORMED_LINES))
    write_raw(store, "2026-11-12", "run-2", RECRAWL)
    write_transcripts(store)
    return store
