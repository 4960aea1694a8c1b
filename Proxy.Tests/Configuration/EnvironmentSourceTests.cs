using SrsProxy.Configuration;

namespace SrsProxy.Tests.Configuration;

public class EnvironmentSourceTests
{
    [Fact]
    public void MergeDotEnv_EnvironmentWins_DotEnvFillsTheRest()
    {
        var variables = new Dictionary<string, string> { ["PROXY_HTTP_API"] = "1985" };
        EnvironmentSource.MergeDotEnv(variables, """
            # comment line
            PROXY_HTTP_API=2985
            PROXY_RTMP_SERVER=1935
            export PROXY_REDIS_PASSWORD="p#ss word"
            PROXY_CANDIDATE=192.0.2.1 # trailing comment
            not a line
            =novalue
            """.Replace("\r", ""));
        Assert.Equal("1985", variables["PROXY_HTTP_API"]);
        Assert.Equal("1935", variables["PROXY_RTMP_SERVER"]);
        Assert.Equal("p#ss word", variables["PROXY_REDIS_PASSWORD"]);
        Assert.Equal("192.0.2.1", variables["PROXY_CANDIDATE"]);
        Assert.Equal(4, variables.Count);
    }

    [Fact]
    public void MergeDotEnv_CrLfFile_IsRead()
    {
        var variables = new Dictionary<string, string>();
        EnvironmentSource.MergeDotEnv(variables, "PROXY_HTTP_API=1985\r\nPROXY_SYSTEM_API=12026\r\n");
        Assert.Equal("1985", variables["PROXY_HTTP_API"]);
        Assert.Equal("12026", variables["PROXY_SYSTEM_API"]);
    }
}
