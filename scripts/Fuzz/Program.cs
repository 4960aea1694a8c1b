using SharpFuzz;
using SrsProxy.Fuzz;
using SrsProxy.Fuzz.Targets;

// srs-proxy-fuzz --list                   the targets, one a line: name and what it checks
// srs-proxy-fuzz TARGET                   under afl-fuzz: the fork server loop, one input per run on stdin
// srs-proxy-fuzz --replay TARGET FILE...  runs each file through the target once, printing what escaped
// Nothing of srs-proxy.dll may run before Fuzzer.Run: its instrumentation writes to a map that Run sets up.
IFuzzTarget[] targets =
[
    new StunTarget(),
    new SdpOfferTarget(),
    new SdpAnswerTarget(),
    new TrickleTarget(),
    new RtcJsonTarget(),
    new RegistrationTarget(),
    new Amf0Target(),
    new RtmpChunkTarget(),
    new SrtHandshakeTarget(),
    new SrtStreamIdTarget(),
    new PlaylistTarget(),
    new DotEnvTarget(),
    new GoDurationTarget(),
    new StreamUrlTarget(),
];

if (args.Length == 1 && args[0] == "--list")
{
    foreach (var target in targets)
    {
        Console.WriteLine($"{target.Name,-14} {target.Description}");
    }

    return 0;
}

if (args.Length >= 3 && args[0] == "--replay")
{
    var target = Find(args[1]);
    if (target is null)
    {
        return 2;
    }

    var failed = 0;
    foreach (var file in args[2..])
    {
        try
        {
            target.Run(File.ReadAllBytes(file));
            Console.WriteLine($"ok    {file}");
        }
        catch (Exception e)
        {
            failed++;
            Console.WriteLine($"CRASH {file}");
            Console.WriteLine(e.ToString());
        }
    }

    return failed == 0 ? 0 : 1;
}

if (args.Length == 1 && !args[0].StartsWith('-'))
{
    var target = Find(args[0]);
    if (target is null)
    {
        return 2;
    }

    // Inputs go through a reused buffer: the fuzzer's loop should cost the parser's time, not ours.
    using var buffer = new MemoryStream();
    Fuzzer.Run(stream =>
    {
        buffer.SetLength(0);
        stream.CopyTo(buffer);
        target.Run(buffer.ToArray());
    });
    return 0;
}

Console.Error.WriteLine("usage: srs-proxy-fuzz --list | TARGET | --replay TARGET FILE...");
return 2;

IFuzzTarget? Find(string name)
{
    var target = targets.FirstOrDefault(t => t.Name == name);
    if (target is null)
    {
        Console.Error.WriteLine($"no target '{name}'; --list names them: {string.Join(", ", targets.Select(t => t.Name))}");
    }

    return target;
}
