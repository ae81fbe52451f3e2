"""Settings of an office's installation, from a TOML file and ``COUNTER_*`` environment variables.

The module sits low: it imports only ``locations`` and the pure ``domain`` (an import-linter
contract), so the sync client, storage and printing read settings without an arrow up the layers.

Precedence: environment (``COUNTER_POLICY=wuhu``, nested with ``__``) over the TOML file
(``COUNTER_CONFIG`` or ``config.toml`` in the user's config directory) over the defaults.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from counter_app.domain.lockout import Lockout
from counter_app.locations import config_file, default_db_path, is_loopback, postgres_url


class PrinterConfig(BaseModel):
    """One printer of the office (a list ``[[printers]]`` in the settings file)."""

    name: str
    """打印机名称（界面中显示，如“1号窗口小票机”）。"""

    kind: Literal["network", "usb", "serial", "file", "system"]
    """连接方式：network（网口，address 为 主机:端口）、usb（address 为 厂商ID:产品ID，十六进制）、
    serial（address 为串口设备，如 /dev/ttyUSB0）、file（address 为文件或目录）、
    system（交给操作系统打印：CUPS 的 lp，address 为打印队列名，另一台 CUPS 服务器写 队列@服务器，
    空为默认打印机；Windows 上交给默认打印机。用于不接受网口直接发送 PDF 的激光打印机）。"""

    address: str
    """地址，含义见 kind。"""

    paper: Literal["58", "80", "a4"] = "80"
    """纸张：58 或 80（毫米小票，ESC/POS），a4（A4 打印机，发送 PDF）。"""

    hanzi: Literal["gb18030", "gbk", "image"] = "gb18030"
    """小票中文的打印方式：gb18030 或 gbk（打印机汉字模式），image（整张按图像打印）。"""

    qr: Literal["native", "image"] = "native"
    """小票二维码：native（打印机自带二维码指令）或 image（按图像打印）。"""

    check_paper: bool = False
    """打印前询问网口小票机的纸张状态（DLE EOT 4）：缺纸时不发送，任务留在队列（须打印机支持）。"""

    timeout: float = Field(default=3.0, gt=0, le=60)
    """连接与发送的超时秒数；打印机关机或断网时在此时间内报错，不会卡住窗口。"""


#: China Standard Time: UTC+8 all year (no daylight saving since 1991); needs no zone database.
CHINA_TIME = timezone(timedelta(hours=8), "CST")


def business_date(now: datetime | None = None) -> date:
    """The calendar day in China at ``now`` (default: the current moment). Before 08:00 UTC the
    machine's UTC date is still yesterday there."""
    moment = now or datetime.now(UTC)
    return moment.astimezone(CHINA_TIME).date()


class SyncSettings(BaseModel):
    """The end-of-day sync with the provincial store (environment: ``COUNTER_SYNC__URL`` etc.)."""

    url: str = ""
    """省平台地址，例如 https://yb.example.gov.cn:8700（不含 /v1）；本机测试可用 http://127.0.0.1:8700。
    不设置时取登记文件中的地址。"""

    token: SecretStr = SecretStr("")
    """本机构令牌（省平台 office-add 或 token 命令给出）；不设置时取 sync register 导入的
    登记文件中的令牌。只在内存中以密文对象保存，不会出现在日志和错误信息中。"""

    key_dir: Path | None = None
    """本机构密钥文件夹（登记信息、本机构签名私钥）；默认在数据库旁的 <数据库文件名>.keys
    （权限 0700）。"""

    signing_key: SecretStr | None = None
    """本机构离线文件签名私钥（PEM 文本）；不设置时用密钥文件夹中 sync register 生成的私钥。"""

    ca_file: Path | None = None
    """信任的 CA 证书文件（PEM），省平台使用自建证书时设置；不设置时使用系统的受信任证书。"""

    allow_insecure: bool = False
    """允许以明文 http:// 连接其他机器上的省平台（令牌可被窃听，只应在隔离网络中临时使用）；
    设置后标题栏显示警告。连接本机（127.0.0.1、localhost）不受此限制。"""

    terminal: str = ""
    """本终端编号（显示在标题栏，记入同步记录），例如 窗口1。"""

    warn_days: int = Field(default=1, ge=1, le=30)
    """超过多少天没有成功同步时，每个界面都显示警告。"""

    timeout_s: float = Field(default=15.0, gt=0, le=300)
    """每个请求的超时（秒）；超时和 5xx 按指数退避重试。"""

    attempts: int = Field(default=6, ge=1, le=20)
    """每个请求最多尝试几次。"""

    batch_size: int = Field(default=200, ge=1, le=500)
    """每批上传多少个事件（不超过 500）。"""

    def insecure(self) -> bool:
        """Whether the token would travel as plain text to another machine (a header warning)."""
        return bool(self.url) and self.url.startswith("http://") and not is_loopback(self.url)


class BackupSettings(BaseModel):
    """Automatic backups of the office database (``[backup]``, ``COUNTER_BACKUP__…``)."""

    places: list[Path] = Field(default_factory=list)
    """备份存放位置（可写多个：第二块硬盘、U 盘、网络共享文件夹）；不设置时存入数据库旁的
    backups 文件夹（与数据库同一块硬盘，硬盘损坏时一起丢失，正式使用请另设位置）。"""

    interval_minutes: int = Field(default=60, ge=0, le=1440)
    """界面运行时每隔多少分钟自动备份一次（0 为只在日结时备份）。"""

    at_day_close: bool = True
    """科长签署日结后立即备份。"""

    keep_days: int = Field(default=14, ge=1, le=3650)
    """每个位置保留多少天的备份（更早的自动删除，最新的一份总是保留）。"""

    enabled: bool | None = None
    """是否自动备份；不设置时正式数据库自动备份，演示数据库不备份。"""


class Settings(BaseSettings):
    """An office's settings; each field's docstring is its documentation."""

    model_config = SettingsConfigDict(env_prefix="COUNTER_", env_nested_delimiter="__")

    policy: str = Field(default="jiangsu")
    """本机构所在地区的策略包：jiangsu、beijing、wuhu、hunan。"""

    pack_file: Path | None = None
    """本机构自己的策略包文件（TOML）；设置后代替内置策略包。"""

    office_name: str = "示例县医疗保障服务中心"
    """经办机构名称（未登录时显示；登录后以数据库中的经办机构为准）。"""

    db_path: Path | None = None
    """本机构数据库文件（SQLite）；默认在用户数据目录下的 counter.db，也可用 COUNTER_DB 指定。"""

    db_url: str | None = Field(default=None, pattern=r"^postgresql(\+psycopg)?://")
    """多窗口经办机构共用的 PostgreSQL 数据库地址，如
    postgresql+psycopg://counter@db.example.cn/office?sslmode=verify-full（口令放在 PGPASSWORD 或
    .pgpass，不写在这里）；设置后代替本机数据库文件（演示模式仍用演示文件）。先用
    counter-app office init-db --url … 建库。"""

    demo: bool = False
    """演示模式：使用单独的演示数据库，首次启动时自动生成演示经办机构、人员和备案。"""

    idle_lock_minutes: int = Field(default=10, ge=1, le=240)
    """无操作多少分钟后锁屏（需重新输入密码）。"""

    sign_in_attempts: int = Field(default=5, ge=3, le=20)
    """连续输错多少次密码后锁定账户（登录、锁屏解锁、科长签署合计）。"""

    sign_in_lockout_minutes: int = Field(default=15, ge=1, le=1440)
    """账户因密码输错被锁定的分钟数；到时前任何密码都不受理。"""

    today: date | None = None
    """固定“今天”的日期（仅用于测试和培训）；不设置时取本机构时区的当前日期。"""

    timezone: str = "Asia/Shanghai"
    """本机构所在时区（IANA 名称）：时间以 UTC 保存、按此时区显示；经办日期、“今日”、日结
    都取此时区的日期。"""

    clock: datetime | None = None
    """固定的当前时刻（带时区，仅用于测试和培训，如 2026-11-23T16:30:00Z）；不设置时取系统时钟。"""

    printers: list[PrinterConfig] = Field(default_factory=list)
    """本机构的打印机；未配置时只有“保存为文件”（PDF 存入用户数据目录下的 prints 文件夹）。"""

    forms_dir: Path | None = None
    """本机构的文书措辞目录：放与 forms/ 同名的 TOML 文件，只写要改的键（措辞、电话、机构名称）。"""

    encryption: bool = True
    """新建本机构数据库时加密（SQLCipher；密钥由各经办人的密码和科长的恢复密钥保护）。
    演示模式始终不加密；已有的未加密数据库用 counter-app db encrypt 转换。"""

    personal_file_days: int = Field(default=30, ge=1, le=3650)
    """打印到文件的文书等含个人信息的文件（数据库之外）保留天数；启动和日结时删除更早的文件。"""

    def encrypts_new_database(self) -> bool:
        """Whether set-up creates this office's new database encrypted (never for the demo)."""
        return self.encryption and not self.demo

    qr_key: SecretStr | None = None
    """文书二维码签名密钥；不设置时每个经办机构首次打印时生成一个，保存在本机构数据库中。"""

    def lockout(self) -> Lockout:
        """The sign-in lock-out these settings ask for."""
        return Lockout(self.sign_in_attempts, self.sign_in_lockout_minutes)

    def printer_list(self) -> list[PrinterConfig]:
        """The configured printers, or the file printer that saves PDFs when none is set."""
        if self.printers:
            return self.printers
        prints = self.database_path().parent / "prints"
        return [PrinterConfig(name="保存为文件", kind="file", address=str(prints), paper="a4")]

    sync: SyncSettings = Field(default_factory=SyncSettings)
    """与省平台的日终同步（[sync] 一节）。"""

    backup: BackupSettings = Field(default_factory=BackupSettings)
    """自动备份（[backup] 一节）。"""

    def backup_places(self) -> list[Path]:
        """Where backups go: the configured places, or ``backups`` beside the database."""
        return list(self.backup.places) or [self.database_path().parent / "backups"]

    def backups_automatic(self) -> bool:
        """Whether the UI and the day close back up by themselves (not the demo, by default)."""
        return self.backup.enabled if self.backup.enabled is not None else not self.demo

    def database_path(self) -> Path:
        """The database this run uses (the demo has its own file per region)."""
        if self.db_path:
            return self.db_path
        if self.demo:
            return default_db_path().with_name(f"demo-{self.policy}.db")
        return default_db_path()

    @model_validator(mode="after")
    def _keys_beside_the_local_data(self) -> Settings:
        # A PostgreSQL office database has no file to keep the sync keys beside: this window's
        # local data folder holds them (the window that runs the day-end sync).
        if self.database_url() and self.sync.key_dir is None:
            local = self.database_path()
            self.sync.key_dir = local.with_name(local.name + ".keys")
        return self

    def database_url(self) -> str | None:
        """The shared PostgreSQL office database of this run, if one is set (never in the demo)."""
        if self.demo or not self.db_url:
            return None
        return postgres_url(self.db_url)

    def zone(self) -> ZoneInfo:
        """The office's time zone (the ``tzdata`` package supplies it where the system has none)."""
        return ZoneInfo(self.timezone)

    def now(self) -> datetime:
        """The current instant in UTC (the fixed clock of a test or training run, if set)."""
        if self.clock is not None:
            clock = self.clock if self.clock.tzinfo else self.clock.replace(tzinfo=UTC)
            return clock.astimezone(UTC)
        return datetime.now(UTC)

    def local(self, moment: datetime) -> datetime:
        """A stored instant (UTC; SQLite hands it back naive) in the office's time zone."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.zone())

    def current_date(self) -> date:
        """The office's business date: its local date now (not the UTC date), or the fixed
        date of a test or training run."""
        return self.today or self.local(self.now()).date()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init arguments, then the environment, then the TOML file."""
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_file()),
        )
